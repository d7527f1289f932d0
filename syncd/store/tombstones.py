"""Tombstones: what is left of an event once it leaves the store, for a while.

Cronofy's pattern for following a calendar is a ``change`` notification, then
``GET /v1/events?last_modified=<changes_since>&include_deleted=true``: deletions must
be visible there. Every path that removes a stored item (a provider-side deletion in an
incremental sync, a full resync that no longer lists it, a deletion through the API, a
calendar gone at the provider) calls :func:`bury` first, in the same transaction, so a
tombstone exists exactly when the item is gone. A managed event deleted before it was
ever stored gets one from its request (:func:`bury_managed`). Tombstones older than
``deleted_event_retention_days`` are pruned by the daemon (:func:`prune`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from syncd.store.models import Event, EventTombstone, ManagedEvent, utcnow

__all__ = ["bury", "bury_managed", "forget_managed", "prune"]

#: Mirrors ``syncd.cronofy.events.event_uid`` (store cannot import the wire package).
_UID_PREFIX = "evt_external_"


def bury(session: Session, which: ColumnElement[bool], now: dt.datetime | None = None) -> int:
    """Write a tombstone for each stored item ``which`` selects; call it just before
    deleting them. Returns how many were written."""
    now = now or utcnow()
    rows = session.execute(
        select(
            col(Event.id),
            col(Event.calendar_id),
            col(Event.managed_event_id),
            col(Event.provider_event_id),
            col(Event.provider_series_id),
            col(Event.summary),
            col(Event.start_text),
            col(Event.end_text),
            col(Event.all_day),
            col(Event.created_at),
        ).where(which)
    ).all()
    if not rows:
        return 0
    session.execute(
        insert(EventTombstone.__table__),  # type: ignore[attr-defined]
        [
            {
                "calendar_id": calendar_id,
                "event_uid": f"{_UID_PREFIX}{row_id}",
                "event_id": managed_event_id,
                "provider_event_id": provider_event_id,
                "provider_series_id": provider_series_id,
                "summary": summary or "",
                "start_text": start_text or "",
                "end_text": end_text or "",
                "all_day": bool(all_day),
                "created_at": created_at,
                "deleted_at": now,
            }
            for (
                row_id,
                calendar_id,
                managed_event_id,
                provider_event_id,
                provider_series_id,
                summary,
                start_text,
                end_text,
                all_day,
                created_at,
            ) in rows
        ],
    )
    return len(rows)


def bury_managed(session: Session, managed: ManagedEvent, now: dt.datetime | None = None) -> None:
    """A tombstone for a managed event deleted through the API that was never stored as
    a provider item (nothing for :func:`bury` to find): from what the caller asked for."""
    request = managed.request or {}
    session.add(
        EventTombstone(
            calendar_id=managed.calendar_id,
            event_id=managed.event_id,
            provider_event_id=managed.provider_event_id,
            summary=str(request.get("summary") or ""),
            start_text=str(request.get("start") or ""),
            end_text=str(request.get("end") or ""),
            all_day=bool(request.get("all_day")),
            created_at=managed.created_at,
            deleted_at=now or utcnow(),
        )
    )


def forget_managed(session: Session, calendar_id: str, event_id: str) -> None:
    """The caller wrote ``event_id`` again: it is no longer deleted."""
    session.execute(
        delete(EventTombstone).where(
            col(EventTombstone.calendar_id) == calendar_id,
            col(EventTombstone.event_id) == event_id,
        )
    )


def prune(session: Session, retention: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Drop tombstones older than ``retention``; returns how many."""
    cutoff = (now or utcnow()) - retention
    result = session.execute(delete(EventTombstone).where(col(EventTombstone.deleted_at) < cutoff))
    return int(cast(CursorResult[Any], result).rowcount or 0)
