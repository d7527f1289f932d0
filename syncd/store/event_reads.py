"""Reads of stored events for ``GET /v1/events`` and the managed-event worker.

``GET /v1/events`` lists occurrences of live events first (by start), then, with
``include_deleted``, the tombstones of events that left the store (by deletion time,
``syncd.store.tombstones``); ``events_page`` reads one page of that sequence after a key
(keyset paging, see ``syncd.store.keyset``) and how long the whole sequence is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlmodel import Session, col

from syncd.store.keyset import after_key
from syncd.store.models import Calendar, Event, EventTombstone, ManagedEvent, Occurrence

__all__ = [
    "EventsCursor",
    "EventsFilter",
    "EventsPage",
    "OccurrenceRow",
    "events_page",
    "stored_event_by_provider_id",
]


@dataclass(frozen=True)
class EventsFilter:
    """Which events a read covers: occurrences overlapping ``[start, end)`` and more."""

    calendar_ids: list[str]
    start: dt.datetime
    end: dt.datetime
    include_managed: bool = False
    only_managed: bool = False
    #: List the tombstones of deleted events too (managed ones only with
    #: ``include_managed``).
    include_deleted: bool = False
    #: Only events (and deletions) changed at or after this time.
    modified_since: dt.datetime | None = None


@dataclass(frozen=True)
class OccurrenceRow:
    """One occurrence of a live event, with its managed event when it is one of ours."""

    event: Event
    managed: ManagedEvent | None
    start_text: str
    end_text: str
    #: Its place in the order (start, end, occurrence id), for the next page's cursor.
    key: tuple[Any, ...] = ()
    #: The event's calendar is read-only (nothing in it can be changed through us).
    readonly: bool = False

    @property
    def start_utc(self) -> dt.datetime | None:
        """The occurrence's start (UTC): names one occurrence of a series."""
        return self.key[0] if self.key else None


@dataclass(frozen=True)
class EventsCursor:
    """Where the next page starts: after this live occurrence (``phase`` ``live``, key
    start, end, occurrence id) or after this tombstone (``deleted``, key deletion time,
    tombstone id)."""

    phase: str
    key: tuple[Any, ...]


@dataclass(frozen=True)
class EventsPage:
    """One page: live occurrences, then tombstones; ``total`` counts both; ``next`` is
    where the following page starts (``None`` on the last)."""

    total: int
    live: list[OccurrenceRow]
    deleted: list[EventTombstone]
    next: EventsCursor | None = None


LIVE = "live"
DELETED = "deleted"
_LIVE_ORDER = (col(Occurrence.start_utc), col(Occurrence.end_utc), col(Occurrence.id))
_DELETED_ORDER = (col(EventTombstone.deleted_at), col(EventTombstone.id))


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.execute(query).scalar() or 0)


def events_page(
    session: Session, where: EventsFilter, after: EventsCursor | None, limit: int
) -> EventsPage:
    """Up to ``limit`` items of the sequence ``where`` selects, after ``after`` (from the
    start when ``None``), and the sequence's length."""
    live = _live_condition(where)
    total = _count(
        session,
        select(func.count())
        .select_from(Occurrence)
        .join(Event, col(Event.id) == col(Occurrence.event_id))
        .where(live),
    )
    deleted = _deleted_condition(where)
    if deleted is not None:
        total += _count(session, select(func.count()).select_from(EventTombstone).where(deleted))
    occurrences: list[OccurrenceRow] = []
    if after is None or after.phase == LIVE:
        occurrences, more = _live_rows(session, live, after, limit)
        if more:
            return EventsPage(total, occurrences, [], _live_cursor(occurrences[-1]))
    removed: list[EventTombstone] = []
    remaining = limit - len(occurrences)
    if deleted is not None and remaining > 0:
        query = select(EventTombstone).where(deleted)
        if after is not None and after.phase == DELETED:
            query = query.where(after_key(_DELETED_ORDER, after.key))
        rows = list(session.execute(query.order_by(*_DELETED_ORDER).limit(remaining + 1)).scalars())
        removed = rows[:remaining]
        if len(rows) > remaining:
            last = removed[-1]
            return EventsPage(
                total, occurrences, removed, EventsCursor(DELETED, (last.deleted_at, last.id))
            )
    return EventsPage(total=total, live=occurrences, deleted=removed)


def _live_rows(
    session: Session, live: ColumnElement[bool], after: EventsCursor | None, limit: int
) -> tuple[list[OccurrenceRow], bool]:
    """Up to ``limit`` live occurrences after ``after``, and whether more follow."""
    query = (
        select(
            Event,
            ManagedEvent,
            col(Occurrence.start_text),
            col(Occurrence.end_text),
            col(Occurrence.start_utc),
            col(Occurrence.end_utc),
            col(Occurrence.id),
            col(Calendar.readonly),
        )
        .select_from(Occurrence)
        .join(Event, col(Event.id) == col(Occurrence.event_id))
        .join(Calendar, col(Calendar.id) == col(Occurrence.calendar_id))
        .outerjoin(
            ManagedEvent,
            and_(
                col(ManagedEvent.calendar_id) == col(Event.calendar_id),
                col(ManagedEvent.event_id) == col(Event.managed_event_id),
            ),
        )
        .where(live)
    )
    if after is not None:
        query = query.where(after_key(_LIVE_ORDER, after.key))
    rows = list(session.execute(query.order_by(*_LIVE_ORDER).limit(limit + 1)))
    return [_occurrence(row) for row in rows[:limit]], len(rows) > limit


def _occurrence(row: Any) -> OccurrenceRow:
    event, managed, start_text, end_text, start_utc, end_utc, occurrence_id, readonly = row
    key = (start_utc, end_utc, occurrence_id)
    return OccurrenceRow(event, managed, start_text, end_text, key, bool(readonly))


def _live_cursor(row: OccurrenceRow) -> EventsCursor:
    return EventsCursor(LIVE, row.key)


def _live_condition(where: EventsFilter) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [
        col(Occurrence.calendar_id).in_(where.calendar_ids or [""]),
        col(Occurrence.start_utc) < where.end,
        or_(col(Occurrence.end_utc) > where.start, col(Occurrence.start_utc) >= where.start),
    ]
    if where.only_managed:
        conditions.append(col(Event.managed_event_id).is_not(None))
    elif not where.include_managed:
        conditions.append(col(Event.managed_event_id).is_(None))
    if where.modified_since is not None:
        conditions.append(col(Event.updated_at) >= where.modified_since)
    return and_(*conditions)


def _deleted_condition(where: EventsFilter) -> ColumnElement[bool] | None:
    """Tombstones listed after the live events: only with ``include_deleted``; managed
    events' only with ``include_managed``, nothing else with ``only_managed``."""
    if not where.include_deleted:
        return None
    conditions: list[ColumnElement[bool]] = [
        col(EventTombstone.calendar_id).in_(where.calendar_ids or [""]),
    ]
    if where.only_managed:
        conditions.append(col(EventTombstone.event_id).is_not(None))
    elif not where.include_managed:
        conditions.append(col(EventTombstone.event_id).is_(None))
    if where.modified_since is not None:
        conditions.append(col(EventTombstone.deleted_at) >= where.modified_since)
    return and_(*conditions)


def stored_event_by_provider_id(
    session: Session, calendar_id: str, provider_event_id: str
) -> Event:
    """The stored provider item ``provider_event_id`` of a calendar (it must exist)."""
    event: Event = session.execute(
        select(Event).where(
            col(Event.calendar_id) == calendar_id,
            col(Event.provider_event_id) == provider_event_id,
        )
    ).scalar_one()
    return event
