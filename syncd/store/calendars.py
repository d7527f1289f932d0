"""A calendar's own sync health: its failures (reason, time, backoff) and its deletion.

One calendar failing never stops its profile's others (docs/sync-engine.md,
"One calendar's failure"); what each failure was is kept here, on the calendar row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from syncd.store.models import Calendar, Event, Occurrence
from syncd.store.tombstones import bury


def live_calendars(session: Session, profile_id: str) -> list[Calendar]:
    """The profile's calendars that are not deleted (with ``expire_on_commit`` off, as
    ``session_scope`` sets it, they stay readable after their transaction)."""
    query = select(Calendar).where(
        col(Calendar.profile_id) == profile_id,
        col(Calendar.deleted) == False,  # noqa: E712
    )
    return list(session.execute(query).scalars())


_CALENDAR_TABLE = Calendar.__table__  # type: ignore[attr-defined]
_NOT_DELETED = (_CALENDAR_TABLE.c.id == bindparam("calendar_id")) & (
    _CALENDAR_TABLE.c.deleted == False  # noqa: E712
)
#: Built once, on the table (no ORM update path): most runs end with one per calendar.
_SETTLE = update(_CALENDAR_TABLE).where(_NOT_DELETED).values(last_synced_at=bindparam("now"))
_SETTLE_WITH_CURSOR = _SETTLE.values(
    sync_cursor=bindparam("cursor"), cursor_version=bindparam("cursor_version")
)


def settle_calendar(
    session: Session, calendar_id: str, cursor: str | None, cursor_version: int, now: dt.datetime
) -> bool:
    """A calendar synced up to ``cursor`` (None: keep the stored one) at ``now``, in one
    UPDATE (the row need not be loaded); False when it is gone or deleted."""
    parameters: dict[str, Any] = {"calendar_id": calendar_id, "now": now}
    if cursor is not None:
        parameters.update(cursor=cursor, cursor_version=cursor_version)
    statement = _SETTLE if cursor is None else _SETTLE_WITH_CURSOR
    return bool(cast(CursorResult[Any], session.execute(statement, parameters)).rowcount)


def record_calendar_failure(
    session: Session,
    calendar_id: str,
    reason: str,
    now: dt.datetime,
    retry_at: dt.datetime | None,
) -> Calendar | None:
    """Count one more failed sync of the calendar, with why, when, and when to retry."""
    calendar = session.get(Calendar, calendar_id)
    if calendar is None:
        return None
    calendar.failure_count += 1
    calendar.last_error = reason
    calendar.last_error_at = now
    calendar.next_retry_at = retry_at
    session.add(calendar)
    return calendar


def clear_calendar_failure(session: Session, calendar_id: str) -> None:
    """The calendar synced: forget its failures."""
    calendar = session.get(Calendar, calendar_id)
    if calendar is not None and (calendar.failure_count or calendar.last_error):
        calendar.failure_count = 0
        calendar.last_error = None
        calendar.last_error_at = None
        calendar.next_retry_at = None
        session.add(calendar)


def mark_calendar_deleted(session: Session, calendar_id: str, now: dt.datetime) -> int:
    """The provider says the calendar is gone: mark it deleted and drop its events now.

    Returns how many events were removed. The cursor is dropped too, so a calendar that
    comes back in a later calendar list is synced in full.
    """
    calendar = session.get(Calendar, calendar_id)
    if calendar is None:
        return 0
    events = select(col(Event.id)).where(col(Event.calendar_id) == calendar_id)
    bury(session, col(Event.calendar_id) == calendar_id, now)
    session.execute(delete(Occurrence).where(col(Occurrence.event_id).in_(events)))
    removed = session.execute(delete(Event).where(col(Event.calendar_id) == calendar_id))
    calendar.deleted = True
    calendar.sync_cursor = None
    calendar.full_sync_in_progress = False
    calendar.failure_count = 0
    calendar.last_error = "deleted at the provider"
    calendar.last_error_at = now
    calendar.next_retry_at = None
    session.add(calendar)
    return int(cast(CursorResult[Any], removed).rowcount or 0)


def failing_calendars(session: Session, profile_id: str) -> list[Calendar]:
    """The profile's calendars (not deleted) whose last sync failed."""
    return list(
        session.execute(
            select(Calendar).where(
                col(Calendar.profile_id) == profile_id,
                col(Calendar.deleted).is_(False),
                col(Calendar.failure_count) > 0,
            )
        ).scalars()
    )
