"""What Google checks and fills in when an event is written, as its documentation says.

The Calendar v3 reference (events.insert/update/patch and the Event resource): attendees
need an ``email`` and get ``responseStatus: needsAction`` unless given one, the owner's
own entry is marked ``self``; at most five reminder ``overrides``, each ``email`` or
``popup`` and 0 to 40320 minutes, never together with ``useDefault: true``; ``colorId``
is a key of the event palette (``colors.get``); ``visibility``, ``transparency`` and
``sendUpdates`` take their enumerations; ``source.url`` is http or https. Kept apart from
the adapter's expectations on purpose: the round-trip tests see what Google would store.
"""

from __future__ import annotations

from typing import Any

EVENT_COLOR_IDS = frozenset(str(number) for number in range(1, 12))
SEND_UPDATES = frozenset({"all", "externalOnly", "none"})
VISIBILITIES = frozenset({"default", "public", "private", "confidential"})
TRANSPARENCIES = frozenset({"opaque", "transparent"})
RESPONSE_STATUSES = frozenset({"needsAction", "declined", "tentative", "accepted"})
MAX_OVERRIDES = 5
MAX_REMINDER_MINUTES = 40320


def write_problem(payload: dict[str, Any], query: dict[str, list[str]]) -> str | None:
    """Why Google would answer 400 to this event write, or None."""
    send_updates = query.get("sendUpdates", [None])[0]
    if send_updates is not None and send_updates not in SEND_UPDATES:
        return f"Invalid value for sendUpdates: {send_updates}"
    return (
        _attendees_problem(payload.get("attendees") or [])
        or _reminders_problem(payload.get("reminders"))
        or _enum_problem(payload)
        or _source_problem(payload)
    )


def _attendees_problem(attendees: list[Any]) -> str | None:
    for attendee in attendees:
        if not isinstance(attendee, dict) or not attendee.get("email"):
            return "Missing attendee email."
        status = attendee.get("responseStatus")
        if status is not None and status not in RESPONSE_STATUSES:
            return f"Invalid attendee responseStatus: {status}"
    return None


def _reminders_problem(reminders: Any) -> str | None:
    if not isinstance(reminders, dict):
        return None
    overrides = reminders.get("overrides") or []
    if reminders.get("useDefault") and overrides:
        return "Cannot specify both default reminders and overrides at the same time."
    if len(overrides) > MAX_OVERRIDES:
        return "The maximum number of override reminders is 5."
    for override in overrides:
        if override.get("method") not in ("email", "popup"):
            return "Invalid reminder method."
        minutes = override.get("minutes")
        if not isinstance(minutes, int) or not 0 <= minutes <= MAX_REMINDER_MINUTES:
            return "Invalid reminder minutes."
    return None


def _enum_problem(payload: dict[str, Any]) -> str | None:
    if "colorId" in payload and payload["colorId"] not in EVENT_COLOR_IDS:
        return "Invalid color id"
    if "visibility" in payload and payload["visibility"] not in VISIBILITIES:
        return "Invalid visibility"
    if "transparency" in payload and payload["transparency"] not in TRANSPARENCIES:
        return "Invalid transparency"
    return None


def _source_problem(payload: dict[str, Any]) -> str | None:
    source = payload.get("source")
    if source is None:
        return None
    url = str((source or {}).get("url") or "")
    if not url.lower().startswith(("http://", "https://")):
        return "Invalid source URL: the scheme must be http or https"
    return None


def with_attendee_defaults(payload: dict[str, Any], owner: str) -> dict[str, Any]:
    """The attendees as Google stores them: a reply for each, ``self``/``organizer`` marked."""
    if not payload.get("attendees"):
        return payload
    attendees = []
    organizer = str((payload.get("organizer") or {}).get("email") or owner).lower()
    for attendee in payload["attendees"]:
        stored = dict(attendee)
        stored.setdefault("responseStatus", "needsAction")
        email = str(stored["email"]).lower()
        if email == owner.lower():
            stored["self"] = True
        if email == organizer:
            stored["organizer"] = True
        attendees.append(stored)
    return dict(payload, attendees=attendees)
