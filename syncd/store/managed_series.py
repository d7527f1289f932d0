"""Managed series on providers that list a series as its occurrences (Graph).

The writer stores the series master it wrote (with our ``managed_event_id``), so the
event is readable at once. Such a provider's sync never lists that master: it lists each
occurrence as an item of its own, naming the master (``series_master_id``). When those
arrive, they take over the master's ``managed_event_id`` and the master row goes, so the
series is shown once, as managed, and deleting the managed event deletes them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from syncd.store.models import Event, Occurrence

__all__ = ["adopt_managed_series"]


def adopt_managed_series(
    session: Session, calendar_id: str, master_ids: Iterable[str], touched_series: set[str]
) -> None:
    """Occurrences of the managed masters ``master_ids`` become managed; the masters go."""
    wanted = sorted(set(master_ids))
    if not wanted:
        return
    masters = session.execute(
        select(col(Event.id), col(Event.provider_event_id), col(Event.managed_event_id)).where(
            col(Event.calendar_id) == calendar_id,
            col(Event.provider_event_id).in_(wanted),
            col(Event.managed_event_id).is_not(None),
            col(Event.is_override).is_(False),
        )
    ).all()
    for row_id, provider_event_id, managed_event_id in masters:
        session.execute(
            update(Event)
            .where(
                col(Event.calendar_id) == calendar_id,
                col(Event.provider_series_id) == provider_event_id,
                col(Event.id) != row_id,
            )
            .values(managed_event_id=managed_event_id)
        )
        session.execute(delete(Occurrence).where(col(Occurrence.event_id) == row_id))
        session.execute(delete(Event).where(col(Event.id) == row_id))
        touched_series.add(provider_event_id)
