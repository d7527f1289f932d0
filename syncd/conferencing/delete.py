"""The delete step: a managed event (and its meeting) off the calendar provider.

Deleting what is already gone is success; a meeting that cannot be deleted is logged and
never blocks the event. ``event_uid`` deletions of events we do not manage
(``EXTERNAL_DELETE_PREFIX`` rows) go through the same retried job and leave no row.
"""

from __future__ import annotations

import logging

from providers.base import NotFound, ProviderError, RateLimited, TransientError
from syncd.conferencing.context import Job, Retry, WorkerContext, retry_after
from syncd.conferencing.meeting import delete_meeting
from syncd.statuses import ManagedEventState
from syncd.store import managed as store
from syncd.store.db import session_scope
from syncd.store.models import ManagedEvent, utcnow
from syncd.store.tombstones import bury_managed, forget_managed

__all__ = ["delete"]

log = logging.getLogger(__name__)


def delete(ctx: WorkerContext, job: Job) -> None:
    if job.provider_event_id:
        with ctx.calendar_provider(job) as provider:
            try:
                provider.delete_event(job.remote_calendar, job.provider_event_id)
            except NotFound:
                pass
            except (TransientError, RateLimited) as error:
                raise Retry(f"provider delete: {error}", retry_after(error)) from error
            except ProviderError as error:
                log.warning("could not delete %s at the provider: %s", job.event_id, error)
    if job.conference_meeting_id and job.conferencing and job.conferencing.remote:
        delete_meeting(ctx, job.conference_meeting_id, job.conference_profile_id)
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is None:
            return
        if row.event_id.startswith(store.EXTERNAL_DELETE_PREFIX):
            if job.provider_event_id:
                store.delete_provider_item(session, job.calendar_id, job.provider_event_id)
            session.delete(row)
            return
        buried = store.delete_managed_event_rows(session, job.calendar_id, job.event_id)
        if row.state == ManagedEventState.PENDING_DELETE and row.updated_at == job.updated_at:
            if not buried:  # never stored as a provider item: the tombstone from its request
                bury_managed(session, row)
            row.state = ManagedEventState.DELETED
            row.deleted_at = utcnow()
            row.next_attempt_at = None
            row.conference_meeting_id = None
        else:  # written again meanwhile: it is not deleted
            forget_managed(session, job.calendar_id, job.event_id)
            row.next_attempt_at = utcnow()
        row.lease_owner = row.lease_expires_at = None
        session.add(row)
