"""Reads of stored events for ``GET /v1/events`` and the managed-event worker.

``GET /v1/events`` lists occurrences of live events first (by start), then managed
events deleted through the API (by deletion time); ``events_page`` reads one page of
that sequence and how long the whole sequence is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlmodel import Session, col

from syncd.statuses import ManagedEventState
from syncd.store.managed import EXTERNAL_DELETE_PREFIX
from syncd.store.models import Event, ManagedEvent, Occurrence

__all__ = [
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
    #: List managed events deleted through the API too (only with ``include_managed``).
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


@dataclass(frozen=True)
class EventsPage:
    """One page: live occurrences, then deleted managed events; ``total`` counts both."""

    total: int
    live: list[OccurrenceRow]
    deleted: list[ManagedEvent]


def events_page(session: Session, where: EventsFilter, offset: int, limit: int) -> EventsPage:
    """``limit`` items from ``offset`` of the sequence ``where`` selects, and its length."""
    live = _live_condition(where)
    live_count = int(
        session.execute(
            select(func.count())
            .select_from(Occurrence)
            .join(Event, col(Event.id) == col(Occurrence.event_id))
            .where(live)
        ).scalar()
        or 0
    )
    deleted = _deleted_condition(where)
    deleted_count = 0
    if deleted is not None:
        deleted_count = int(
            session.execute(select(func.count()).select_from(ManagedEvent).where(deleted)).scalar()
            or 0
        )
    occurrences: list[OccurrenceRow] = []
    if offset < live_count:
        rows = session.execute(
            select(Event, ManagedEvent, col(Occurrence.start_text), col(Occurrence.end_text))
            .select_from(Occurrence)
            .join(Event, col(Event.id) == col(Occurrence.event_id))
            .outerjoin(
                ManagedEvent,
                and_(
                    col(ManagedEvent.calendar_id) == col(Event.calendar_id),
                    col(ManagedEvent.event_id) == col(Event.managed_event_id),
                ),
            )
            .where(live)
            .order_by(col(Occurrence.start_utc), col(Occurrence.end_utc), col(Occurrence.id))
            .offset(offset)
            .limit(limit)
        )
        occurrences = [OccurrenceRow(*row) for row in rows]
    removed: list[ManagedEvent] = []
    remaining = limit - len(occurrences)
    if deleted is not None and remaining > 0:
        removed = list(
            session.execute(
                select(ManagedEvent)
                .where(deleted)
                .order_by(col(ManagedEvent.deleted_at), col(ManagedEvent.id))
                .offset(max(0, offset - live_count))
                .limit(remaining)
            ).scalars()
        )
    return EventsPage(total=live_count + deleted_count, live=occurrences, deleted=removed)


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
    """Managed events deleted through the API, listed after the live ones."""
    if not where.include_deleted or not where.include_managed:
        return None
    conditions: list[ColumnElement[bool]] = [
        col(ManagedEvent.calendar_id).in_(where.calendar_ids or [""]),
        col(ManagedEvent.state) == ManagedEventState.DELETED,
        ~col(ManagedEvent.event_id).startswith(EXTERNAL_DELETE_PREFIX),
    ]
    if where.modified_since is not None:
        conditions.append(col(ManagedEvent.deleted_at) >= where.modified_since)
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
