"""Jobs for the managed-event worker beyond writing our own events: delete them all,
reply to an invitation, change an event someone else made (``event_uid``).

Each is a ``ManagedEvent`` row the daemon leases like any other, so the API answers 202
at once and a crash loses nothing. Rows that are not the application's own events carry
an ``event_id`` with a prefix (as ``managed.EXTERNAL_DELETE_PREFIX`` does), which keeps
them out of "every managed event" and lets the worker tell the jobs apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from syncd.store import managed as store
from syncd.store.models import Calendar, Event, ManagedEvent, Profile, utcnow

__all__ = [
    "EXTERNAL_UPDATE_PREFIX",
    "JOB_PREFIXES",
    "REPLY_PREFIX",
    "request_delete_all",
    "request_external_update",
    "request_reply",
]

#: ``event_id`` prefix of a reply to an invitation (``participation_status``).
REPLY_PREFIX = "reply:"
#: ``event_id`` prefix of an upsert by ``event_uid`` (an event we did not write).
EXTERNAL_UPDATE_PREFIX = "external-update:"
#: Rows that are jobs, not the application's own events.
JOB_PREFIXES = (store.EXTERNAL_DELETE_PREFIX, REPLY_PREFIX, EXTERNAL_UPDATE_PREFIX)


def is_job(event_id: str) -> bool:
    return event_id.startswith(JOB_PREFIXES)


def request_delete_all(
    session: Session,
    account_id: str,
    calendar_ids: list[str] | None,
    now: dt.datetime | None = None,
) -> int:
    """Mark every live managed event of the account (in ``calendar_ids`` when given) for
    deletion by the daemon; how many were marked."""
    query = (
        select(ManagedEvent)
        .join(Calendar, col(Calendar.id) == col(ManagedEvent.calendar_id))
        .join(Profile, col(Profile.id) == col(Calendar.profile_id))
        .where(
            col(Profile.account_id) == account_id,
            col(ManagedEvent.state).in_((store.PENDING_WRITE, store.WRITTEN, store.FAILED)),
        )
    )
    if calendar_ids is not None:
        query = query.where(col(ManagedEvent.calendar_id).in_(calendar_ids))
    marked = 0
    for row in session.execute(query).scalars():
        if is_job(row.event_id):
            continue
        store.request_delete(session, row.calendar_id, row.event_id, now)
        marked += 1
    return marked


def _job_row(
    session: Session,
    application_id: str,
    account_id: str,
    event: Event,
    event_id: str,
    request: dict[str, Any],
) -> tuple[ManagedEvent, bool]:
    """The job row for ``event``: due now unless it already holds this very request."""
    row = store.find_managed_event(session, event.calendar_id, event_id)
    if (
        row is not None
        and row.request == request
        and row.state
        in (
            store.PENDING_WRITE,
            store.WRITTEN,
        )
    ):
        return row, False
    now = utcnow()
    row = row or ManagedEvent(
        application_id=application_id,
        account_id=account_id,
        calendar_id=event.calendar_id,
        event_id=event_id,
        created_at=now,
    )
    row.request = request
    row.state = store.PENDING_WRITE
    row.provider_event_id = event.provider_event_id
    row.attempts = 0
    row.last_error = None
    row.next_attempt_at = now
    row.updated_at = now
    session.add(row)
    session.flush()
    return row, True


def request_reply(
    session: Session, application_id: str, account_id: str, event: Event, status: str
) -> ManagedEvent:
    """The account answers an invitation: the daemon writes ``status`` to the provider."""
    event_id = REPLY_PREFIX + event.provider_event_id
    request = {"participation_status": status}
    return _job_row(session, application_id, account_id, event, event_id, request)[0]


def request_external_update(
    session: Session,
    application_id: str,
    account_id: str,
    event: Event,
    request: dict[str, Any],
) -> tuple[ManagedEvent, bool]:
    """Change the named fields (``request["fields"]``) of an event we did not write."""
    event_id = EXTERNAL_UPDATE_PREFIX + event.provider_event_id
    return _job_row(session, application_id, account_id, event, event_id, request)
