"""Worker steps for events the application does not manage: a reply to an invitation
(``participation_status``) and an upsert by ``event_uid`` (only the fields it names).

Leased and retried like managed writes (``syncd.store.managed_requests`` queues them); a
provider refusal for good marks the row failed with the reason in ``last_error``. After
success the stored item is updated in the same transaction that marks the row written,
so ``GET /v1/events`` shows the change before the next sync.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from providers.base import (
    CalendarProvider,
    ParticipationStatus,
    ProviderError,
    RateLimited,
    RemoteEvent,
    TransientError,
)
from syncd.conferencing.context import Job, Retry, WorkerContext, request_times, retry_after
from syncd.conferencing.write import fail, written_fields
from syncd.statuses import ManagedEventState
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page
from syncd.store.managed_requests import REPLY_PREFIX
from syncd.store.models import Calendar, Event, ManagedEvent, utcnow

__all__ = ["run_job"]


def run_job(ctx: WorkerContext, job: Job) -> None:
    """Do the reply or the external update ``job`` holds."""
    with ctx.calendar_provider(job) as provider:
        try:
            if job.event_id.startswith(REPLY_PREFIX):
                _reply(ctx, job, provider)
            else:
                _update(ctx, job, provider)
        except (TransientError, RateLimited) as error:
            raise Retry(f"provider: {error}", retry_after(error)) from error
        except ProviderError as error:
            fail(ctx, job, f"the provider refused: {error}")


def _reply(ctx: WorkerContext, job: Job, provider: CalendarProvider) -> None:
    status: ParticipationStatus = job.request["participation_status"]
    provider.set_participation_status(job.remote_calendar, job.provider_event_id or "", status)
    with session_scope(ctx.engine) as session:
        if not _mark_written(session, job):
            return
        replied = select(Event).where(
            col(Event.calendar_id) == job.calendar_id,
            col(Event.provider_event_id) == job.provider_event_id,
        )
        for event in session.execute(replied).scalars():
            event.participation_status = status
            session.add(event)


def _update(ctx: WorkerContext, job: Job, provider: CalendarProvider) -> None:
    request = job.request
    start, end = request_times(request)
    event = RemoteEvent(
        provider_event_id=job.provider_event_id or "",
        start=start,
        end=end,
        tzid=None if request.get("all_day") else request.get("tzid") or "Etc/UTC",
        all_day=bool(request.get("all_day")),
        summary=request.get("summary", ""),
        description=request.get("description", ""),
        location=request.get("location", ""),
        transparency=request.get("transparency", "opaque"),
        **written_fields(request),
    )
    stored = provider.update_event_fields(
        job.remote_calendar, event, frozenset(request.get("fields") or ())
    )
    with session_scope(ctx.engine) as session:
        calendar = session.get(Calendar, job.calendar_id)
        if calendar is None or not _mark_written(session, job):
            return
        window = ExpansionWindow.around(
            utcnow(), ctx.settings.expansion_history_days, ctx.settings.expansion_horizon_days
        )
        apply_page(
            session, calendar, [stored], [], calendar.sync_generation, window, job.default_tz
        )


def _mark_written(session: Session, job: Job) -> bool:
    """The row is done, unless the caller asked something else meanwhile (then again)."""
    row = session.get(ManagedEvent, job.row_id)
    if row is None:
        return False
    row.lease_owner = row.lease_expires_at = None
    if row.updated_at != job.updated_at or row.state != ManagedEventState.PENDING_WRITE:
        row.next_attempt_at = utcnow()
        session.add(row)
        return False
    row.state = ManagedEventState.WRITTEN
    row.attempts = 0
    row.last_error = None
    row.next_attempt_at = None
    session.add(row)
    return True
