"""Mapping between Microsoft Graph resources and the shared dataclasses (and back)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from providers.base import (
    Attendee,
    Conferencing,
    EventStatus,
    Geo,
    InvalidRemoteData,
    Organizer,
    ParticipationStatus,
    PermissionDenied,
    PushNotification,
    RemoteCalendar,
    RemoteEvent,
    geo_or_none,
    shared_attendee,
    shared_organizer,
)
from providers.payload import (
    parse_optional_datetime,
    required_str,
)

TEAMS = "teamsForBusiness"
_PARTICIPATION: dict[str, ParticipationStatus] = {
    "organizer": "accepted",
    "accepted": "accepted",
    "tentativelyaccepted": "tentative",
    "declined": "declined",
    "notresponded": "needs_action",
    "none": "needs_action",
}
#: What an occurrence shares with its series master. Real ``calendarView/delta`` answers
#: often carry only ``@odata.type``, ``@odata.etag``, ``seriesMasterId``, ``type``, ``id``,
#: ``start`` and ``end`` on occurrences; the rest is read from the master.
SERIES_PROPERTIES = (
    "subject", "showAs", "isAllDay", "responseStatus", "sensitivity", "bodyPreview", "body",
    "location", "locations", "isOnlineMeeting", "onlineMeeting", "onlineMeetingProvider",
    "onlineMeetingUrl", "isOrganizer", "organizer", "attendees", "importance", "categories",
    "isCancelled", "originalStartTimeZone", "originalEndTimeZone",
)  # fmt: skip
#: Names Graph uses for UTC besides "UTC" (a Windows display name among them).
_UTC_NAMES = frozenset(
    {
        "UTC",
        "tzone://Microsoft/Utc",
        "Coordinated Universal Time",
        "(UTC) Coordinated Universal Time",
    }
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: RRULE frequencies as Graph's recurrencePattern types (on the start's own day).
_GRAPH_PATTERNS = {
    "DAILY": "daily",
    "WEEKLY": "weekly",
    "MONTHLY": "absoluteMonthly",
    "YEARLY": "absoluteYearly",
}


def notification_batch(body: bytes | None) -> list[Any]:
    """The ``value`` array of a Graph notification body; InvalidRemoteData when not one."""
    if body is None:
        raise InvalidRemoteData("notification body too large")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidRemoteData("notification body is not JSON") from exc
    value = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(value, list) or not value:
        raise InvalidRemoteData("notification body has no value entries")
    return value


#: Graph's ``lifecycleEvent`` values and what they ask of us (see PushNotification).
LIFECYCLE_EVENTS: dict[str, Literal["reauthorize", "missed", "removed"]] = {
    "reauthorizationRequired": "reauthorize",
    "missed": "missed",
    "subscriptionRemoved": "removed",
}


def notification_from_graph(item: Any) -> PushNotification:
    """A change notification, or a lifecycle one (it carries ``lifecycleEvent``).

    An unknown ``lifecycleEvent`` (Graph may add some) is taken as ``missed``: a sync
    is the safe answer to anything about the subscription we do not understand."""
    entry = item if isinstance(item, dict) else {}
    subscription_id = entry.get("subscriptionId")
    client_state = entry.get("clientState")
    event = entry.get("lifecycleEvent")
    lifecycle = None if event is None else LIFECYCLE_EVENTS.get(str(event), "missed")
    return PushNotification(
        provider_resource_id=subscription_id if isinstance(subscription_id, str) else None,
        secret=client_state if isinstance(client_state, str) else None,
        find_by="provider_resource_id",
        lifecycle=lifecycle,
    )


def items_of(response: dict[str, Any], tolerate_non_dicts: bool = False) -> list[Any]:
    value = response.get("value")
    if not isinstance(value, list):
        return []
    return value if tolerate_non_dicts else [item for item in value if isinstance(item, dict)]


def calendar_from_graph(entry: dict[str, Any]) -> RemoteCalendar:
    providers = entry.get("allowedOnlineMeetingProviders") or []
    return RemoteCalendar(
        provider_calendar_id=str(entry["id"]),
        name=str(entry.get("name") or entry["id"]),
        readonly=not entry.get("canEdit", True),
        primary=bool(entry.get("isDefaultCalendar", False)),
        integrated_conferencing_available=TEAMS in providers,
    )


def is_deletion(item: Any) -> bool:
    """A removal (``@removed``) or an event its organizer cancelled; not an object: unusable."""
    if not isinstance(item, dict):
        raise InvalidRemoteData("event is not an object")
    return "@removed" in item or item.get("isCancelled") is True


def is_series_master(item: Any) -> bool:
    """A series master delta listed beside its occurrences (calendarView expands it)."""
    return isinstance(item, dict) and item.get("type") == "seriesMaster" and "@removed" not in item


def series_master_of(item: Any) -> str | None:
    """The master id of an occurrence or exception missing some of the series' properties."""
    if not isinstance(item, dict) or "@removed" in item:
        return None
    master_id = item.get("seriesMasterId")
    if not isinstance(master_id, str) or not master_id:
        return None
    return master_id if any(key not in item for key in SERIES_PROPERTIES) else None


def with_series(item: dict[str, Any], master: dict[str, Any]) -> dict[str, Any]:
    """``item`` with the series properties it lacks taken from ``master``; its own win."""
    inherited = {key: master[key] for key in SERIES_PROPERTIES if key in master and key not in item}
    return {**item, **inherited}


def event_from_graph(item: Any, own_address: str | None = None) -> RemoteEvent:
    """One Graph event (a single event, occurrence or exception) as a RemoteEvent.

    ``own_address`` is the mailbox's address: the attendee entry with it is the
    account's own (Graph marks none; ``responseStatus`` is the account's reply).
    """
    if not isinstance(item, dict):
        raise InvalidRemoteData("event is not an object")
    event_id = required_str(item, "id")
    all_day = item.get("isAllDay") is True
    start = _parse_graph_time(item.get("start"), all_day)
    end = _parse_graph_time(item.get("end"), all_day)
    if end < start:
        raise InvalidRemoteData("event ends before it starts")
    location = _object(item.get("location"))
    body = _object(item.get("body"))
    extra: dict[str, Any] = {}
    if item.get("seriesMasterId"):
        extra["series_master_id"] = item["seriesMasterId"]
    if item.get("type"):
        extra["type"] = item["type"]
    if isinstance(item.get("sensitivity"), str):
        extra["sensitivity"] = item["sensitivity"]
    organizer = _organizer(item, own_address)
    return RemoteEvent(
        provider_event_id=event_id,
        start=start,
        end=end,
        ical_uid=item.get("iCalUId"),
        tzid=None if all_day else _zone_name(item.get("originalStartTimeZone")),
        all_day=all_day,
        summary=str(item.get("subject") or ""),
        description=str(body.get("content") or item.get("bodyPreview") or ""),
        location=str(location.get("displayName") or ""),
        geo=_geo(location),
        status=_status(item),
        transparency="transparent" if item.get("showAs") == "free" else "opaque",
        participation_status=_participation(item),
        conferencing=conferencing_of(item),
        updated=parse_optional_datetime(item.get("lastModifiedDateTime")),
        etag=item.get("@odata.etag") or item.get("changeKey"),
        extra=extra,
        attendees=_attendees(item, own_address),
        organizer=organizer,
        can_reply=item.get("isOrganizer") is False and not (organizer and organizer.is_self),
        series_master_id=extra.get("series_master_id"),
    )


def _geo(location: dict[str, Any]) -> Geo | None:
    """``location.coordinates`` (Graph's outlookGeoCoordinates), when it has both."""
    coordinates = _object(location.get("coordinates"))
    return geo_or_none(coordinates.get("latitude"), coordinates.get("longitude"))


def _person(value: Any) -> tuple[str, str] | None:
    """(address, name) of a Graph ``recipient`` (``{"emailAddress": {name, address}}``)."""
    address = _object(_object(value).get("emailAddress"))
    email = address.get("address")
    if not isinstance(email, str) or not email:
        return None
    return email, str(address.get("name") or "")


def _same_address(email: str, own_address: str | None) -> bool:
    return own_address is not None and email.strip().lower() == own_address.strip().lower()


def _attendees(item: dict[str, Any], own_address: str | None) -> list[Attendee]:
    """Graph's ``attendees``; entries without an address (rooms sometimes) are left out."""
    found: list[Attendee] = []
    entries = item.get("attendees")
    for entry in entries if isinstance(entries, list) else []:
        person = _person(entry)
        if person is None:
            continue
        response = _object(_object(entry).get("status")).get("response")
        found.append(
            shared_attendee(
                person[0],
                person[1],
                (
                    "needs_action"
                    if response is None
                    else _PARTICIPATION.get(str(response).lower(), "unknown")
                ),
                _same_address(person[0], own_address),
            )
        )
    return found


def _organizer(item: dict[str, Any], own_address: str | None) -> Organizer | None:
    person = _person(item.get("organizer"))
    if person is None:
        return None
    is_self = item.get("isOrganizer") is True or _same_address(person[0], own_address)
    return shared_organizer(person[0], person[1], is_self)


def _status(item: dict[str, Any]) -> EventStatus:
    return "tentative" if item.get("showAs") == "tentative" else "confirmed"


def _participation(item: dict[str, Any]) -> ParticipationStatus:
    """The account's reply: Graph's ``responseStatus`` (the mailbox's own), which needs
    no attendee entry; an event the mailbox organises, or one without a reply recorded
    and no attendees, is accepted."""
    status = item.get("responseStatus")
    response = status.get("response") if isinstance(status, dict) else None
    if item.get("isOrganizer") is True and response in (None, "none", "organizer"):
        return "accepted"
    if response in (None, "none") and not item.get("attendees"):
        return "accepted"
    if response is None:
        return "needs_action"
    return _PARTICIPATION.get(str(response).lower(), "unknown")


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def conferencing_of(item: dict[str, Any]) -> Conferencing | None:
    meeting = _object(item.get("onlineMeeting"))
    join_url = meeting.get("joinUrl")
    if not join_url:
        return None
    provider = item.get("onlineMeetingProvider")
    return Conferencing(
        provider_description="Microsoft Teams" if provider in (TEAMS, None) else str(provider),
        join_url=str(join_url),
        provider_meeting_id=meeting.get("conferenceId"),
    )


def _zone(name: Any) -> ZoneInfo | None:
    """A ZoneInfo for an IANA or Windows zone name Graph uses; None when unknown."""
    if not isinstance(name, str) or not name:
        return None
    return _named_zone(name)


@functools.lru_cache(maxsize=512)
def _named_zone(name: str) -> ZoneInfo | None:
    """:func:`_zone` of a name, looked up once: every item names its zone."""
    if name in _UTC_NAMES:
        return ZoneInfo("UTC")
    for candidate in (win_tz.get(name), name):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return None


def _zone_name(name: Any) -> str | None:
    zone = _zone(name)
    return zone.key if zone is not None else None


def _parse_graph_time(value: Any, all_day: bool) -> dt.datetime | dt.date:
    """A Graph dateTimeTimeZone as an aware datetime, or a date for all-day events."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise InvalidRemoteData("time is not a dateTimeTimeZone")
    try:  # Graph's seven fractional digits too: Python 3.11 keeps the first six
        moment = dt.datetime.fromisoformat(value["dateTime"])
    except ValueError as exc:
        raise InvalidRemoteData(f"unparseable time {value!r}") from exc
    if all_day:
        return moment.date()
    if moment.tzinfo is None:
        # Every read asks for ``Prefer: outlook.timezone="UTC"`` (UTC is also Graph's
        # default), so the times are UTC whatever odd label Graph leaves on them
        # ("Customized Time Zone", "tzone://Microsoft/Custom"); a zone name we know is
        # still honoured, in case Graph did not apply the preference.
        moment = moment.replace(tzinfo=_time_zone(value.get("timeZone")))
    return moment


def _time_zone(name: Any) -> dt.tzinfo:
    """The zone of a Graph time's ``timeZone``: ``datetime.UTC`` for UTC and for names
    we do not know (conversions to UTC, done several times for every item, pass such a
    time through as it is), else the zone it names."""
    if isinstance(name, str) and name in _UTC_NAMES:
        return dt.UTC
    return _zone(name) or dt.UTC


def transaction_id(provider_event_id: str) -> str:
    """A stable Graph ``transactionId`` for our id, so retried creates are deduplicated."""
    return "syncd-" + hashlib.sha256(provider_event_id.encode()).hexdigest()[:32]


def event_to_graph(event: RemoteEvent) -> dict[str, Any]:
    """The Graph event body for a RemoteEvent we write."""

    def when(value: dt.datetime | dt.date) -> dict[str, str]:
        if event.all_day or not isinstance(value, dt.datetime):
            day = value.date() if isinstance(value, dt.datetime) else value
            return {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": "UTC"}
        zone = event.tzid if event.tzid and _zone(event.tzid) else "UTC"
        local = value.astimezone(ZoneInfo(zone)) if value.tzinfo else value
        return {"dateTime": local.replace(tzinfo=None).isoformat(), "timeZone": zone}

    location: dict[str, Any] = {"displayName": event.location}
    if event.geo is not None:
        location["coordinates"] = {
            "latitude": event.geo.latitude,
            "longitude": event.geo.longitude,
        }
    body: dict[str, Any] = {
        "subject": event.summary,
        "body": {"contentType": "text", "content": event.description},
        "location": location,
        "start": when(event.start),
        "end": when(event.end),
        "isAllDay": event.all_day,
        "showAs": "free"
        if event.transparency == "transparent"
        else ("tentative" if event.status == "tentative" else "busy"),
        "sensitivity": "private" if event.private else "normal",
        "attendees": [
            {
                "emailAddress": {"address": person.email, "name": person.display_name}
                if person.display_name
                else {"address": person.email},
                "type": "required",
            }
            for person in event.attendees
        ],
    }
    if event.reminders is not None:
        body["isReminderOn"] = bool(event.reminders)
        if event.reminders:
            body["reminderMinutesBeforeStart"] = event.reminders[0]
    if event.recurrence:
        body["recurrence"] = recurrence_to_graph(event.recurrence, event.start, event.tzid)
    else:
        body["recurrence"] = None
    return body


#: The Graph event properties each ``RemoteEvent`` field is written to.
_PROPERTIES = {
    "summary": ("subject",),
    "description": ("body",),
    "location": ("location",),
    "geo": ("location",),
    "start": ("start", "isAllDay"),
    "end": ("end",),
    "transparency": ("showAs",),
    "private": ("sensitivity",),
    "reminders": ("isReminderOn", "reminderMinutesBeforeStart"),
    "recurrence": ("recurrence",),
    "attendees": ("attendees",),
}

#: The account's reply, as the Graph action that sends it.
GRAPH_REPLIES = {"accepted": "accept", "declined": "decline", "tentative": "tentativelyAccept"}


def graph_properties(fields: frozenset[str]) -> list[str]:
    """The Graph properties that carry ``fields`` (``RemoteEvent`` attribute names)."""
    names = [name for field in sorted(fields) for name in _PROPERTIES.get(field, ())]
    return list(dict.fromkeys(names))


def recurrence_to_graph(
    lines: list[str], start: dt.datetime | dt.date, tzid: str | None
) -> dict[str, Any]:
    """A Graph patternedRecurrence for a daily or weekly RRULE; other rules are refused."""
    rules = [line for line in lines if line.upper().startswith("RRULE:")]
    if len(rules) != 1 or len(lines) != 1:
        raise PermissionDenied("Microsoft takes exactly one RRULE and no EXDATE/RDATE lines")
    parts = dict(part.split("=", 1) for part in rules[0][6:].upper().split(";") if "=" in part)
    frequency = parts.get("FREQ")
    if frequency not in _GRAPH_PATTERNS or set(parts) - {
        "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST"
    } or (frequency != "WEEKLY" and "BYDAY" in parts):  # fmt: skip
        raise PermissionDenied(f"Microsoft adapter cannot write the rule {rules[0]!r}")
    local_start = (
        start.astimezone(ZoneInfo(tzid or "UTC")) if isinstance(start, dt.datetime) else start
    )
    first_day = local_start.date() if isinstance(local_start, dt.datetime) else local_start
    pattern: dict[str, Any] = {
        "type": _GRAPH_PATTERNS[frequency],
        "interval": int(parts.get("INTERVAL", "1")),
    }
    if frequency == "WEEKLY":
        days = parts.get("BYDAY", _RRULE_DAYS[first_day.weekday()]).split(",")
        pattern["daysOfWeek"] = [_WEEKDAYS[_RRULE_DAYS.index(day[-2:])] for day in days]
        pattern["firstDayOfWeek"] = "monday"
    if frequency in ("MONTHLY", "YEARLY"):
        pattern["dayOfMonth"] = first_day.day
    if frequency == "YEARLY":
        pattern["month"] = first_day.month
    recurrence_range: dict[str, Any] = {"type": "noEnd", "startDate": first_day.isoformat()}
    if "COUNT" in parts:
        recurrence_range.update(type="numbered", numberOfOccurrences=int(parts["COUNT"]))
    elif "UNTIL" in parts:
        until = dt.datetime.strptime(parts["UNTIL"][:8], "%Y%m%d").date()
        if "T" in parts["UNTIL"] and parts["UNTIL"].endswith("Z"):
            moment = dt.datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            until = moment.astimezone(ZoneInfo(tzid or "UTC")).date()
        recurrence_range.update(type="endDate", endDate=until.isoformat())
    if tzid:
        recurrence_range["recurrenceTimeZone"] = tzid
    return {"pattern": pattern, "range": recurrence_range}


def graph_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
