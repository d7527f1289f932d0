"""A provider item and its ``event`` row, both ways: the column values a page writes
(``event_values``, in the order of ``VALUE_COLUMNS``) and the ``RemoteEvent`` rebuilt
from a stored row for re-expansion. Both directions here so they agree."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row

from providers.base import Conferencing, RemoteEvent
from syncd.calendar.utc_text import utc_iso
from syncd.store.geo import geo_from_json, geo_json
from syncd.store.models import Event
from syncd.store.people import (
    attendees_from_json,
    attendees_json,
    organizer_from_json,
    organizer_json,
)

__all__ = [
    "INSERT_COLUMNS",
    "UPDATE_COLUMNS",
    "VALUE_COLUMNS",
    "event_values",
    "remote_event_from_row",
]


def _time_text(value: dt.datetime | dt.date | None) -> str:
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    return value.isoformat() if value is not None else ""


def _parse_time(text: str, all_day: bool, tzid: str | None) -> dt.datetime | dt.date:
    if all_day:
        return dt.date.fromisoformat(text[:10])
    value = dt.datetime.fromisoformat(text)
    if tzid and value.tzinfo is not None:
        with contextlib.suppress(KeyError, ValueError):
            value = value.astimezone(ZoneInfo(tzid))
    return value


def _utc_bound(value: dt.datetime | dt.date, default_tz: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(default_tz))
        return value.astimezone(dt.UTC)
    return dt.datetime.combine(value, dt.time(), ZoneInfo(default_tz)).astimezone(dt.UTC)


def _informative_utc(value: object) -> dt.datetime | None:
    """An informative timestamp (``updated``) as aware UTC; floating means UTC, junk means none.

    Real exports carry floating ``DTSTAMP``/``LAST-MODIFIED`` (SabreDAV, Nextcloud, Baïkal):
    they must never reach the UTC column naive, or the whole page fails to commit.
    """
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: The columns ``_event_values`` fills, in its order (shared by insert and update).
VALUE_COLUMNS = (
    "series_key",
    "ical_uid",
    "recurring",
    "provider_series_id",
    "is_override",
    "original_start",
    "start_utc",
    "end_utc",
    "start_text",
    "end_text",
    "tzid",
    "all_day",
    "status",
    "transparency",
    "participation_status",
    "summary",
    "description",
    "location",
    "geo",
    "recurrence",
    "ical",
    "conferencing",
    "etag",
    "expansion_failed_etag",
    "instance_participation",
    "attendees",
    "organizer",
    "can_reply",
    "provider_updated_at",
    "updated_at",
)
#: A new row: who it is, when it came, its values, the sync generation that wrote it.
INSERT_COLUMNS = ("calendar_id", "provider_event_id", "created_at", *VALUE_COLUMNS, "generation")
#: A changed row: its values and generation (then its id, the bulk UPDATE's key).
UPDATE_COLUMNS = (*VALUE_COLUMNS, "generation")


def event_values(item: RemoteEvent, default_tz: str, now: dt.datetime) -> tuple[object, ...]:
    """Column values for an item, in ``VALUE_COLUMNS`` order (``now``: the page's time).

    Every conversion of every property happens here, inside the caller's per-item guard:
    nothing converted later (at the bulk insert) may fail for one item.
    """
    recurring_event_id = item.recurring_event_id
    return (
        recurring_event_id or item.provider_event_id,
        item.ical_uid,
        bool(item.recurrence) or recurring_event_id is not None,
        _provider_series_id(item),
        recurring_event_id is not None,
        _time_text(item.original_start) or None,
        _utc_bound(item.start, default_tz),
        _utc_bound(item.end, default_tz),
        _time_text(item.start),
        _time_text(item.end),
        item.tzid,
        item.all_day,
        item.status,
        item.transparency,
        item.participation_status,
        item.summary or "",
        item.description or "",
        item.location or "",
        geo_json(item.geo),
        list(item.recurrence),
        item.ical,
        _conferencing_json(item.conferencing),
        item.etag,
        None,  # expansion_failed_etag: changed, so expand it again
        dict(item.instance_participation) or None,
        attendees_json(item.attendees) if item.attendees else None,
        organizer_json(item.organizer),
        bool(item.can_reply),
        _informative_utc(item.updated),
        now,
    )


def _provider_series_id(item: RemoteEvent) -> str | None:
    """The series an item belongs to: an override's master, a master itself, or the
    master of an occurrence the provider expanded; None for a single event."""
    if item.recurring_event_id is not None:
        return item.recurring_event_id
    if item.recurrence:
        return item.provider_event_id
    return item.series_master_id


def _series_master_of(row: Event | Row[Any]) -> str | None:
    """``RemoteEvent.series_master_id`` back from a row: a provider-expanded occurrence's."""
    series_id = getattr(row, "provider_series_id", None)
    if series_id is None or row.is_override or row.recurrence:
        return None
    return str(series_id)


def _conferencing_json(conferencing: Conferencing | None) -> dict[str, object] | None:
    if conferencing is None:
        return None
    return {
        "provider_description": conferencing.provider_description,
        "join_url": conferencing.join_url,
        **({"password": conferencing.password} if conferencing.password else {}),
    }


def remote_event_from_row(row: Event | Row[Any]) -> RemoteEvent:
    """Rebuild the adapter-level view of a stored item (for series re-expansion)."""
    original = None
    if row.original_start:
        original = _parse_time(row.original_start, len(row.original_start) == 10, row.tzid)
    return RemoteEvent(
        provider_event_id=row.provider_event_id,
        start=_parse_time(row.start_text, row.all_day, row.tzid),
        end=_parse_time(row.end_text, row.all_day, row.tzid),
        ical_uid=row.ical_uid,
        tzid=row.tzid,
        all_day=row.all_day,
        summary=row.summary,
        description=row.description,
        location=row.location,
        geo=geo_from_json(getattr(row, "geo", None)),
        status=row.status,  # type: ignore[arg-type]
        transparency=row.transparency,  # type: ignore[arg-type]
        participation_status=row.participation_status,  # type: ignore[arg-type]
        recurrence=list(row.recurrence or []),
        recurring_event_id=row.series_key if row.is_override else None,
        original_start=original,
        ical=row.ical,
        etag=row.etag,
        instance_participation=dict(getattr(row, "instance_participation", None) or {}),
        attendees=attendees_from_json(getattr(row, "attendees", None)),
        organizer=organizer_from_json(getattr(row, "organizer", None)),
        can_reply=bool(getattr(row, "can_reply", False)),
        series_master_id=_series_master_of(row),
    )
