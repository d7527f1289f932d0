"""One event as ``GET /v1/events`` shows it; webhooks carry exactly the same object.

Shared by the API and the daemon so a ``conferencing_assigned`` body and a later read
of the same event can never disagree.

Ids: a stored item is ``evt_external_<row>``; one occurrence of a series that syncd
expands itself (a master with recurrence lines) is ``evt_external_<row>_<start>``, the
occurrence's start in UTC (``YYYYMMDDTHHMMSSZ``), so every occurrence has its own
``event_uid`` as on Cronofy, and all the occurrences, overrides and provider-expanded
instances of one series share a ``series_identifier``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncd.cronofy.times import format_seconds, format_utc
from syncd.store.models import Event, EventTombstone, ManagedEvent

_UID_PREFIX = "evt_external_"
_UID = re.compile(r"^evt_external_(?P<row>\d{1,18})(?:_(?P<instance>\d{8}T\d{6}Z))?$")


def event_uid(event: Event, occurrence_start: dt.datetime | None = None) -> str:
    """A stable public id for a stored item, or for one occurrence of a series it expands."""
    uid = f"{_UID_PREFIX}{event.id}"
    if occurrence_start is not None and _expands_itself(event):
        uid += "_" + occurrence_start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return uid


def _expands_itself(event: Event) -> bool:
    """A series master whose occurrences syncd computes (they share its row)."""
    return bool(event.recurrence) and not event.is_override


def parse_event_uid(uid: str) -> int | None:
    """The stored item an ``event_uid`` names (an occurrence's names its series)."""
    parsed = parse_occurrence_uid(uid)
    return parsed[0] if parsed is not None else None


def parse_occurrence_uid(uid: str) -> tuple[int, str | None] | None:
    """(row id, occurrence start ``YYYYMMDDTHHMMSSZ`` or None) of an ``event_uid``."""
    match = _UID.match(uid)
    if match is None:
        return None
    return int(match["row"]), match["instance"]


def series_identifier(event: Event) -> str | None:
    """The id every item and occurrence of one series shares; None for a single event."""
    if not event.provider_series_id:
        return None
    return _series_identifier(event.calendar_id, event.provider_series_id)


def _series_identifier(calendar_id: str, provider_series_id: str) -> str:
    digest = hashlib.sha256(f"{calendar_id}\0{provider_series_id}".encode())
    return f"ser_{digest.hexdigest()[:24]}"


def public_conferencing(conferencing: dict[str, Any] | None) -> dict[str, Any] | None:
    """The caller-visible part of stored conferencing details."""
    if not conferencing or not conferencing.get("join_url"):
        return None
    shown = {
        "provider_description": conferencing.get("provider_description") or "",
        "join_url": conferencing["join_url"],
    }
    if conferencing.get("password"):
        shown["password"] = conferencing["password"]
    return shown


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _time_value(text: str, all_day: bool, localized: ZoneInfo | None) -> str | dict[str, str]:
    """A date for all-day events; else a UTC time, or with ``localized_times`` Cronofy's
    ``{"time": <local time with offset>, "tzid": <zone>}``."""
    if all_day:
        return text[:10]
    moment = dt.datetime.fromisoformat(text)
    if localized is None:
        return format_utc(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return {"time": moment.astimezone(localized).isoformat(), "tzid": localized.key}


def attendees_view(event: Event) -> list[dict[str, str]]:
    """Cronofy's ``attendees``: email, display_name, status (the account's own included)."""
    return [
        {
            "email": str(entry.get("email", "")),
            "display_name": str(entry.get("display_name", "")),
            "status": str(entry.get("status") or "needs_action"),
        }
        for entry in event.attendees or []
        if isinstance(entry, dict) and entry.get("email")
    ]


def organizer_view(event: Event) -> dict[str, str] | None:
    organizer = event.organizer
    if not isinstance(organizer, dict) or not organizer.get("email"):
        return None
    return {
        "email": str(organizer["email"]),
        "display_name": str(organizer.get("display_name", "")),
    }


def event_view(
    event: Event,
    managed: ManagedEvent | None = None,
    start_text: str | None = None,
    end_text: str | None = None,
    *,
    occurrence_start: dt.datetime | None = None,
    readonly: bool = False,
    localized_zone: ZoneInfo | None = None,
    include_geo: bool = False,
) -> dict[str, Any]:
    """The Cronofy event object; ``start_text``/``end_text`` (and ``occurrence_start``, its
    UTC start) pick one occurrence of a series. ``readonly``: the calendar is read-only.
    ``localized_zone``: answer ``localized_times``, in the event's own zone when it has
    one, else in this one. ``include_geo``: ``location.lat``/``long`` where known."""
    localized = (_zone(event.tzid) or localized_zone) if localized_zone is not None else None
    view: dict[str, Any] = {
        "calendar_id": event.calendar_id,
        "event_uid": event_uid(event, occurrence_start),
        "summary": event.summary,
        "description": event.description,
        "start": _time_value(start_text or event.start_text, event.all_day, localized),
        "end": _time_value(end_text or event.end_text, event.all_day, localized),
        "deleted": False,
        "created": format_seconds(event.created_at),
        "updated": format_seconds(event.updated_at),
        "participation_status": event.participation_status or "needs_action",
        "attendees": attendees_view(event),
        "transparency": event.transparency,
        "status": event.status,
        "categories": [],
        "recurring": event.provider_series_id is not None,
        "event_private": False,
        "options": {
            "delete": not readonly,
            "update": not readonly,
            "change_participation_status": bool(event.can_reply) and not readonly,
        },
    }
    organizer = organizer_view(event)
    if organizer is not None:
        view["organizer"] = organizer
    identifier = series_identifier(event)
    if identifier is not None:
        view["series_identifier"] = identifier
    location = _location(event.location, _stored_geo(event.geo) if include_geo else None)
    if managed is not None:
        view["event_id"] = managed.event_id
        location = _managed_location(managed, include_geo) or location
    if location is not None:
        view["location"] = location
    conferencing = public_conferencing(
        managed.conferencing if managed is not None else event.conferencing
    )
    if conferencing is not None:
        view["conferencing"] = conferencing
    return view


def _location(description: str, geo: tuple[float, float] | None) -> dict[str, Any] | None:
    """Cronofy's ``location``: ``description``, and ``lat``/``long`` as decimal strings
    (as Cronofy sends them) with ``include_geo``; None when there is neither."""
    if not description and geo is None:
        return None
    location: dict[str, Any] = {"description": description or ""}
    if geo is not None:
        location["lat"], location["long"] = (_degrees(value) for value in geo)
    return location


def _degrees(value: float) -> str:
    return format(value, ".6f").rstrip("0").rstrip(".") or "0"


def _stored_geo(value: Any) -> tuple[float, float] | None:
    """``event.geo`` (``{"latitude", "longitude"}``) as a pair."""
    if not isinstance(value, dict):
        return None
    latitude, longitude = value.get("latitude"), value.get("longitude")
    if isinstance(latitude, int | float) and isinstance(longitude, int | float):
        return float(latitude), float(longitude)
    return None


def _managed_location(managed: ManagedEvent, include_geo: bool = False) -> dict[str, Any] | None:
    """The location a managed event was written with (its coordinates with ``include_geo``)."""
    request = managed.request or {}
    geo = request.get("geo") if include_geo else None
    pair = (float(geo[0]), float(geo[1])) if isinstance(geo, list) and len(geo) == 2 else None
    return _location(str(request.get("location") or ""), pair)


def _request_time(
    request: dict[str, Any], key: str, all_day: bool, localized: ZoneInfo | None
) -> str | dict[str, str] | None:
    text = request.get(key)
    return _time_value(text, all_day, localized) if isinstance(text, str) and text else None


def managed_view(
    managed: ManagedEvent,
    deleted: bool = False,
    localized_zone: ZoneInfo | None = None,
    include_geo: bool = False,
) -> dict[str, Any]:
    """A managed event not (or no longer) stored as a provider item: from its request."""
    request = managed.request or {}
    all_day = bool(request.get("all_day"))
    localized = (
        (_zone(request.get("tzid")) or localized_zone) if localized_zone is not None else None
    )
    view: dict[str, Any] = {
        "calendar_id": managed.calendar_id,
        "event_id": managed.event_id,
        "summary": request.get("summary", ""),
        "description": request.get("description", ""),
        "start": _request_time(request, "start", all_day, localized),
        "end": _request_time(request, "end", all_day, localized),
        "deleted": deleted,
        "created": format_seconds(managed.created_at),
        "updated": format_seconds(managed.updated_at),
        "participation_status": "accepted",
        "attendees": [],
        "transparency": request.get("transparency", "opaque"),
        "status": "cancelled" if deleted else "confirmed",
        "categories": [],
        "recurring": False,
        "event_private": False,
        "options": {
            "delete": not deleted,
            "update": not deleted,
            "change_participation_status": False,
        },
    }
    location = _managed_location(managed, include_geo)
    if location:
        view["location"] = location
    conferencing = public_conferencing(managed.conferencing)
    if conferencing is not None:
        view["conferencing"] = conferencing
    return view


def tombstone_view(
    tombstone: EventTombstone, localized_zone: ZoneInfo | None = None
) -> dict[str, Any]:
    """A deleted event: what identified it and where it was, ``deleted: true``;
    ``updated`` is when syncd saw it go."""
    view: dict[str, Any] = {"calendar_id": tombstone.calendar_id}
    if tombstone.event_uid:
        view["event_uid"] = tombstone.event_uid
    if tombstone.event_id:
        view["event_id"] = tombstone.event_id
    view.update(
        {
            "summary": tombstone.summary,
            "description": "",
            "start": _tombstone_time(tombstone.start_text, tombstone.all_day, localized_zone),
            "end": _tombstone_time(tombstone.end_text, tombstone.all_day, localized_zone),
            "deleted": True,
            "created": format_seconds(tombstone.created_at or tombstone.deleted_at),
            "updated": format_seconds(tombstone.deleted_at),
            "participation_status": "needs_action",
            "attendees": [],
            "transparency": "opaque",
            "status": "cancelled",
            "categories": [],
            "recurring": tombstone.provider_series_id is not None,
            "event_private": False,
            "options": {"delete": False, "update": False, "change_participation_status": False},
        }
    )
    if tombstone.provider_series_id:
        view["series_identifier"] = _series_identifier(
            tombstone.calendar_id, tombstone.provider_series_id
        )
    return view


def _tombstone_time(
    text: str, all_day: bool, localized_zone: ZoneInfo | None
) -> str | dict[str, str] | None:
    return _time_value(text, all_day, localized_zone) if text else None
