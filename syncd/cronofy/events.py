"""One event as ``GET /v1/events`` shows it; webhooks carry exactly the same object.

Shared by the API and the daemon so a ``conferencing_assigned`` body and a later read
of the same event can never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from syncd.cronofy.times import format_utc
from syncd.store.models import Event, ManagedEvent


def event_uid(event: Event) -> str:
    """A stable public id for a stored provider item (``DELETE`` takes it back)."""
    return f"evt_external_{event.id}"


def parse_event_uid(uid: str) -> int | None:
    prefix = "evt_external_"
    if not uid.startswith(prefix) or not uid[len(prefix) :].isdigit():
        return None
    return int(uid[len(prefix) :])


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


def _time_text(text: str, all_day: bool) -> str:
    if all_day:
        return text[:10]
    return format_utc(dt.datetime.fromisoformat(text))


def event_view(
    event: Event,
    managed: ManagedEvent | None = None,
    start_text: str | None = None,
    end_text: str | None = None,
) -> dict[str, Any]:
    """The Cronofy event object; ``start_text``/``end_text`` pick one occurrence of a series."""
    view: dict[str, Any] = {
        "calendar_id": event.calendar_id,
        "event_uid": event_uid(event),
        "summary": event.summary,
        "description": event.description,
        "start": _time_text(start_text or event.start_text, event.all_day),
        "end": _time_text(end_text or event.end_text, event.all_day),
        "deleted": False,
        "created": format_utc(event.created_at),
        "updated": format_utc(event.updated_at),
        "participation_status": event.participation_status,
        "attendees": [],
        "transparency": event.transparency,
        "status": event.status,
        "categories": [],
        "recurring": event.recurring,
        "event_private": False,
        "options": {"delete": True, "update": True, "change_participation_status": False},
    }
    if event.location:
        view["location"] = {"description": event.location}
    if managed is not None:
        view["event_id"] = managed.event_id
        view["location"] = _managed_location(managed) or view.get("location")
        if view["location"] is None:
            del view["location"]
    conferencing = public_conferencing(
        managed.conferencing if managed is not None else event.conferencing
    )
    if conferencing is not None:
        view["conferencing"] = conferencing
    return view


def _managed_location(managed: ManagedEvent) -> dict[str, Any] | None:
    location = (managed.request or {}).get("location")
    return {"description": location} if location else None


def managed_view(managed: ManagedEvent, deleted: bool = False) -> dict[str, Any]:
    """A managed event not (or no longer) stored as a provider item: from its request."""
    request = managed.request or {}
    all_day = bool(request.get("all_day"))
    view: dict[str, Any] = {
        "calendar_id": managed.calendar_id,
        "event_id": managed.event_id,
        "summary": request.get("summary", ""),
        "description": request.get("description", ""),
        "start": _time_text(request["start"], all_day) if request.get("start") else None,
        "end": _time_text(request["end"], all_day) if request.get("end") else None,
        "deleted": deleted,
        "created": format_utc(managed.created_at),
        "updated": format_utc(managed.updated_at),
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
    location = _managed_location(managed)
    if location:
        view["location"] = location
    conferencing = public_conferencing(managed.conferencing)
    if conferencing is not None:
        view["conferencing"] = conferencing
    return view
