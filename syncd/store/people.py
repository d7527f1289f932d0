"""The people of a stored event: ``RemoteEvent`` attendees and organizer ↔ the JSON columns.

``event.attendees`` holds ``[{email, display_name, status, self}]`` and
``event.organizer`` ``{email, display_name, self}``; ``self`` marks the account's own
entry. Both directions live here so the write path and the re-expansion read agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from providers.base import Attendee, Organizer


def attendees_json(attendees: Sequence[Attendee]) -> list[dict[str, object]] | None:
    """The ``event.attendees`` column for a RemoteEvent's attendees (None: nobody)."""
    return [
        {
            "email": str(attendee.email),
            "display_name": str(attendee.display_name or ""),
            "status": str(attendee.status),
            "self": bool(attendee.is_self),
        }
        for attendee in attendees
    ] or None


def organizer_json(organizer: Organizer | None) -> dict[str, object] | None:
    """The ``event.organizer`` column for a RemoteEvent's organizer."""
    if organizer is None:
        return None
    return {
        "email": str(organizer.email),
        "display_name": str(organizer.display_name or ""),
        "self": bool(organizer.is_self),
    }


def attendees_from_json(value: Any) -> list[Attendee]:
    return [
        Attendee(
            email=str(entry.get("email", "")),
            display_name=str(entry.get("display_name", "")),
            status=entry.get("status", "needs_action"),
            is_self=bool(entry.get("self")),
        )
        for entry in value or []
        if isinstance(entry, dict)
    ]


def organizer_from_json(value: Any) -> Organizer | None:
    if not isinstance(value, dict):
        return None
    return Organizer(
        email=str(value.get("email", "")),
        display_name=str(value.get("display_name", "")),
        is_self=bool(value.get("self")),
    )
