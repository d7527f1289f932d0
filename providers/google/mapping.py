"""Mapping between Google Calendar resources and the shared dataclasses."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from providers.base import (
    Attendee,
    Conferencing,
    InvalidRemoteData,
    Organizer,
    ParticipationStatus,
    RemoteCalendar,
    RemoteEvent,
    own_participation,
    shared_attendee,
    shared_organizer,
)
from providers.payload import (
    parse_optional_datetime,
    required_str,
)

_READONLY_ROLES = frozenset({"reader", "freeBusyReader"})
_PARTICIPATION: dict[str, ParticipationStatus] = {
    "needsAction": "needs_action",
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentative",
}
#: Google's client-chosen event ids: base32hex characters, 5 to 1024 long.
_GOOGLE_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
#: The id Google gives one instance of a series: ``<master id>_<original start>``, the
#: start as ``YYYYMMDDTHHMMSSZ`` (UTC) or, for all-day series, ``YYYYMMDD``.
_INSTANCE_ID = re.compile(r"^(?P<master>.+)_(?P<day>\d{8})(?:T(?P<time>\d{6})Z)?$")


def calendar_from_entry(entry: dict[str, Any]) -> RemoteCalendar:
    allowed = (entry.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes") or []
    return RemoteCalendar(
        provider_calendar_id=str(entry["id"]),
        name=str(entry.get("summaryOverride") or entry.get("summary") or entry["id"]),
        readonly=entry.get("accessRole") in _READONLY_ROLES,
        primary=bool(entry.get("primary", False)),
        integrated_conferencing_available="hangoutsMeet" in allowed,
        timezone=entry.get("timeZone"),
    )


def is_deletion(item: Any) -> bool:
    """A deleted event; a cancelled instance of a series (even a bare one) is not one."""
    return (
        isinstance(item, dict)
        and item.get("status") == "cancelled"
        and not item.get("recurringEventId")
        and instance_of(item.get("id")) is None
    )


def instance_of(event_id: Any) -> tuple[str, dt.datetime | dt.date] | None:
    """(master id, original start) named by an instance id ``<master>_<instant>``, else None.

    Google's own ids are base32hex (no ``_``), so only instance ids match. Real incremental
    syncs report a cancelled instance as nothing but ``{id, status: "cancelled"}``: the id
    is then all that says which instance of which series it cancels.
    """
    match = _INSTANCE_ID.match(event_id) if isinstance(event_id, str) else None
    if match is None:
        return None
    try:
        day = dt.datetime.strptime(match["day"], "%Y%m%d").date()
        if match["time"] is None:
            return match["master"], day
        clock = dt.datetime.strptime(match["time"], "%H%M%S").time()
    except ValueError:
        return None
    return match["master"], dt.datetime.combine(day, clock, dt.UTC)


def event_from_google(item: Any, calendar_zone: str | None) -> RemoteEvent:
    """One Google event resource as a RemoteEvent; InvalidRemoteData when it is unusable."""
    if not isinstance(item, dict):
        raise InvalidRemoteData("event is not an object")
    event_id = required_str(item, "id")
    original_start = (
        _parse_event_time(item["originalStartTime"], calendar_zone)[0]
        if item.get("originalStartTime")
        else None
    )
    status = item.get("status")
    recurring_event_id = item.get("recurringEventId")
    bare_instance = instance_of(event_id) if status == "cancelled" else None
    if bare_instance is not None and not recurring_event_id:
        recurring_event_id = bare_instance[0]
        original_start = original_start or bare_instance[1]
    if status == "cancelled" and not item.get("start"):
        # A cancelled occurrence may carry nothing but its original start.
        if original_start is None:
            raise InvalidRemoteData("cancelled instance without originalStartTime")
        start, tzid = original_start, None
        all_day = not isinstance(original_start, dt.datetime)
        end: dt.datetime | dt.date = start
    else:
        if not isinstance(item.get("start"), dict) or not isinstance(item.get("end"), dict):
            raise InvalidRemoteData("event without start or end")
        start, all_day, tzid = _parse_event_time(item["start"], calendar_zone)
        end, end_all_day, _ = _parse_event_time(item["end"], calendar_zone)
        if end_all_day != all_day:
            raise InvalidRemoteData("start and end disagree about being all-day")
        if end < start:
            raise InvalidRemoteData("event ends before it starts")
    recurrence = item.get("recurrence") or []
    if not isinstance(recurrence, list):
        raise InvalidRemoteData("recurrence is not a list")
    attendees = attendees_of(item)
    organizer = organizer_of(item)
    return RemoteEvent(
        provider_event_id=event_id,
        start=start,
        end=end,
        ical_uid=item.get("iCalUID"),
        tzid=tzid if not all_day else None,
        all_day=all_day,
        summary=str(item.get("summary") or ""),
        description=str(item.get("description") or ""),
        location=str(item.get("location") or ""),
        status=status if status in ("tentative", "cancelled") else "confirmed",
        transparency="transparent" if item.get("transparency") == "transparent" else "opaque",
        participation_status=own_participation(attendees, organizer),
        recurrence=[str(line) for line in recurrence],
        recurring_event_id=recurring_event_id,
        original_start=original_start,
        conferencing=conferencing_of(item.get("conferenceData") or {}),
        updated=parse_optional_datetime(item.get("updated")),
        etag=item.get("etag"),
        extra={"event_type": item["eventType"]} if item.get("eventType") else {},
        attendees=attendees,
        organizer=organizer,
        can_reply=any(a.is_self for a in attendees) and not (organizer and organizer.is_self),
    )


def _parse_event_time(
    value: Any, calendar_zone: str | None
) -> tuple[dt.datetime | dt.date, bool, str | None]:
    """(moment, all_day, tzid) from a Google EventDateTime."""
    if not isinstance(value, dict):
        raise InvalidRemoteData("time is not an object")
    zone_name = value.get("timeZone") or calendar_zone
    try:
        if value.get("date"):
            return dt.date.fromisoformat(str(value["date"])), True, zone_name
        if value.get("dateTime"):
            moment = dt.datetime.fromisoformat(str(value["dateTime"]))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(zone_name or "UTC"))
            return moment, False, zone_name
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise InvalidRemoteData(f"unparseable time {value!r}") from exc
    raise InvalidRemoteData("time has neither date nor dateTime")


def attendees_of(item: dict[str, Any]) -> list[Attendee]:
    """Google's ``attendees`` (``email``, ``displayName``, ``responseStatus``, ``self``).

    Entries without an email (Google omits it for some resources) are left out.
    """
    found: list[Attendee] = []
    entries = item.get("attendees")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("email"), str):
            continue
        found.append(
            shared_attendee(
                entry["email"],
                str(entry.get("displayName") or ""),
                _reply(entry.get("responseStatus")),
                entry.get("self") is True,
            )
        )
    return found


def _reply(value: Any) -> ParticipationStatus:
    """A ``responseStatus``: none is ``needs_action``, one we do not know ``unknown``."""
    if value is None:
        return "needs_action"
    return _PARTICIPATION.get(str(value), "unknown")


def organizer_of(item: dict[str, Any]) -> Organizer | None:
    """Google's ``organizer`` (``email``, ``displayName``, ``self``); none without an email."""
    organizer = item.get("organizer")
    if not isinstance(organizer, dict) or not isinstance(organizer.get("email"), str):
        return None
    return shared_organizer(
        organizer["email"], str(organizer.get("displayName") or ""), organizer.get("self") is True
    )


def conferencing_of(conference: dict[str, Any]) -> Conferencing | None:
    for entry_point in conference.get("entryPoints") or []:
        if isinstance(entry_point, dict) and entry_point.get("entryPointType") == "video":
            uri = entry_point.get("uri")
            if not uri:
                continue
            solution = conference.get("conferenceSolution") or {}
            return Conferencing(
                provider_description=str(solution.get("name") or "Google Meet"),
                join_url=str(uri),
                password=entry_point.get("passcode") or entry_point.get("password"),
                provider_meeting_id=conference.get("conferenceId"),
            )
    return None


def google_event_id(provider_event_id: str) -> str:
    """A valid Google event id for ours: itself when Google accepts it, else a stable hash.

    Deterministic, so a retried upsert lands on the same event instead of a duplicate.
    """
    if _GOOGLE_EVENT_ID.match(provider_event_id):
        return provider_event_id
    digest = hashlib.sha256(provider_event_id.encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


def event_to_google(event: RemoteEvent, event_id: str) -> dict[str, Any]:
    """The Google event resource for a RemoteEvent we write."""

    def when(value: dt.datetime | dt.date) -> dict[str, str]:
        if event.all_day or not isinstance(value, dt.datetime):
            return {"date": value.isoformat()}
        moment: dict[str, str] = {"dateTime": value.isoformat()}
        if event.tzid:
            moment["timeZone"] = event.tzid
        return moment

    body: dict[str, Any] = {
        "id": event_id,
        "summary": event.summary,
        "description": event.description,
        "location": event.location,
        "start": when(event.start),
        "end": when(event.end),
        "transparency": event.transparency,
        "status": event.status,
        "visibility": "private" if event.private else "default",
        "reminders": _reminders_to_google(event.reminders),
    }
    if event.recurrence:
        body["recurrence"] = list(event.recurrence)
    if event.attendees:
        body["attendees"] = [
            {
                "email": person.email,
                **({"displayName": person.display_name} if person.display_name else {}),
            }
            for person in event.attendees
        ]
    if event.url:
        body["source"] = {"title": event.summary or event.url, "url": event.url}
    if event.color:
        body["colorId"] = nearest_color_id(event.color)
    return body


#: Google's fixed palette of event colours (``colors.get``, ``event``): an event takes one
#: of these ids, so a colour is written as the nearest of them.
EVENT_COLORS = {
    "1": "#a4bdfc", "2": "#7ae7bf", "3": "#dbadff", "4": "#ff887c", "5": "#fbd75b",
    "6": "#ffb878", "7": "#46d6db", "8": "#e1e1e1", "9": "#5484ed", "10": "#51b749",
    "11": "#dc2127",
}  # fmt: skip
#: Reminder overrides Google keeps per event.
MAX_REMINDERS = 5


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def nearest_color_id(color: str) -> str:
    """The ``colorId`` of the palette colour nearest ``#rrggbb`` (Euclidean in RGB)."""
    wanted = _rgb(color)
    return min(
        EVENT_COLORS,
        key=lambda key: sum(
            (a - b) ** 2 for a, b in zip(_rgb(EVENT_COLORS[key]), wanted, strict=True)
        ),
    )


def _reminders_to_google(reminders: list[int] | None) -> dict[str, Any]:
    """``None``: the calendar's default reminders; a list: exactly those, as pop-ups."""
    if reminders is None:
        return {"useDefault": True}
    overrides = [{"method": "popup", "minutes": minutes} for minutes in reminders[:MAX_REMINDERS]]
    return {"useDefault": False, "overrides": overrides}


#: The account's reply as Google's attendee ``responseStatus``.
GOOGLE_REPLIES = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentative",
    "needs_action": "needsAction",
    "unknown": "needsAction",
}
#: The Google event properties each ``RemoteEvent`` field is written to.
_PROPERTIES = {
    "summary": ("summary",),
    "description": ("description",),
    "location": ("location",),
    "start": ("start",),
    "end": ("end",),
    "transparency": ("transparency",),
    "private": ("visibility",),
    "reminders": ("reminders",),
    "url": ("source",),
    "color": ("colorId",),
    "recurrence": ("recurrence",),
    "attendees": ("attendees",),
}


def google_properties(fields: frozenset[str]) -> list[str]:
    """The Google properties that carry ``fields`` (``RemoteEvent`` attribute names)."""
    return [name for field in sorted(fields) for name in _PROPERTIES.get(field, ())]
