"""Graph writes beyond the managed event: external updates, replies, new calendars.

Free functions over the adapter's ``send`` (one retried Graph request), so the adapter
module stays a readable size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from providers.base import (
    InvalidRemoteData,
    ParticipationStatus,
    PermissionDenied,
    RemoteCalendar,
    RemoteEvent,
)
from providers.microsoft.errors import BadRequest
from providers.microsoft.mapping import (
    GRAPH_REPLIES,
    calendar_from_graph,
    event_from_graph,
    event_to_graph,
    graph_properties,
)

Send = Callable[..., "dict[str, Any] | None"]


def _event_path(calendar: RemoteCalendar, provider_event_id: str) -> str:
    return (
        f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}"
        f"/events/{quote(provider_event_id, safe='')}"
    )


def update_event_fields(
    send: Send, calendar: RemoteCalendar, event: RemoteEvent, fields: frozenset[str]
) -> RemoteEvent:
    """PATCH only the properties of ``fields``: the rest stays as its owner made it."""
    body = event_to_graph(event)
    patch = {key: body[key] for key in graph_properties(fields) if key in body}
    stored = send("PATCH", _event_path(calendar, event.provider_event_id), body=patch)
    if stored is None:
        raise InvalidRemoteData("Microsoft Graph returned no event after a write")
    return event_from_graph(stored)


def reply(
    send: Send, calendar: RemoteCalendar, provider_event_id: str, status: ParticipationStatus
) -> None:
    """``accept``, ``decline`` or ``tentativelyAccept``, telling the organizer."""
    action = GRAPH_REPLIES.get(status)
    if action is None:
        raise PermissionDenied(f"Microsoft Graph cannot reply {status!r}")
    try:
        send(
            "POST",
            f"{_event_path(calendar, provider_event_id)}/{action}",
            body={"sendResponse": True},
        )
    except BadRequest as exc:
        raise PermissionDenied("the account cannot reply to this event") from exc


def create_calendar(send: Send, name: str, color: str | None) -> RemoteCalendar:
    """``POST /me/calendars``; a name the mailbox has already is AlreadyExists (409)."""
    if color:
        raise PermissionDenied("Microsoft calendars take named colours, not #rrggbb")
    created = send("POST", "me/calendars", body={"name": name})
    if created is None:
        raise InvalidRemoteData("Microsoft Graph returned no calendar after a create")
    return calendar_from_graph(created)
