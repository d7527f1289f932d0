"""What Microsoft Graph checks and fills in when an event is written, as documented.

From the v1.0 reference (event, attendee, patternedRecurrence, outlookGeoCoordinates,
event: accept/decline/tentativelyAccept, calendar: create): an attendee needs
``emailAddress.address`` and a ``type`` (``required``, ``optional``, ``resource``) and is
stored with ``status {response: none}``; ``sensitivity`` and ``showAs`` take their
enumerations; coordinates are numbers; a reply is refused to the organizer; declining
moves the event out of the attendee's calendar; calendar names are unique per mailbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SENSITIVITIES = frozenset({"normal", "personal", "private", "confidential"})
SHOW_AS = frozenset({"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"})
ATTENDEE_TYPES = frozenset({"required", "optional", "resource"})
PATTERN_TYPES = frozenset(
    {"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
)
#: The reply actions and the response each records.
REPLIES = {
    "accept": "accepted",
    "decline": "declined",
    "tentativelyAccept": "tentativelyAccepted",
}


def write_problem(payload: dict[str, Any]) -> str | None:
    """Why Graph would answer 400 ErrorInvalidRequest to this event body, or None."""
    for attendee in payload.get("attendees") or []:
        address = ((attendee or {}).get("emailAddress") or {}).get("address")
        if not address:
            return "An attendee needs emailAddress.address."
        if attendee.get("type") not in ATTENDEE_TYPES:
            return "An attendee needs a type: required, optional or resource."
    if "sensitivity" in payload and payload["sensitivity"] not in SENSITIVITIES:
        return "Invalid sensitivity."
    if "showAs" in payload and payload["showAs"] not in SHOW_AS:
        return "Invalid showAs."
    minutes = payload.get("reminderMinutesBeforeStart")
    if minutes is not None and (not isinstance(minutes, int) or minutes < 0):
        return "Invalid reminderMinutesBeforeStart."
    return _coordinates_problem(payload) or _recurrence_problem(payload.get("recurrence"))


def _coordinates_problem(payload: dict[str, Any]) -> str | None:
    coordinates = (payload.get("location") or {}).get("coordinates")
    for key in ("latitude", "longitude"):
        value = (coordinates or {}).get(key)
        if value is not None and not isinstance(value, int | float):
            return f"location.coordinates.{key} must be a number."
    return None


def _recurrence_problem(recurrence: Any) -> str | None:
    if not recurrence:
        return None
    pattern = recurrence.get("pattern") or {}
    kind = pattern.get("type")
    if kind not in PATTERN_TYPES:
        return "Invalid recurrence pattern type."
    if kind in ("absoluteMonthly", "absoluteYearly") and not pattern.get("dayOfMonth"):
        return "dayOfMonth is required for absolute patterns."
    if kind == "absoluteYearly" and not pattern.get("month"):
        return "month is required for absoluteYearly."
    return None


def with_attendee_status(payload: dict[str, Any]) -> dict[str, Any]:
    """Attendees as Graph stores them: each with the reply it has (none yet)."""
    if not payload.get("attendees"):
        return payload
    stored = []
    for attendee in payload["attendees"]:
        entry = dict(attendee)
        entry.setdefault("status", {"response": "none", "time": "0001-01-01T00:00:00Z"})
        stored.append(entry)
    return dict(payload, attendees=stored)


def replied(item: dict[str, Any], action: str, now: dt.datetime) -> dict[str, Any]:
    """The item after the mailbox owner's reply ``action``."""
    moment = now.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return dict(item, responseStatus={"response": REPLIES[action], "time": moment})
