"""iCalendar ↔ RemoteEvent: one calendar object resource (a whole VCALENDAR) per event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from providers.base import (
    Attendee,
    Conferencing,
    EventStatus,
    Geo,
    InvalidRemoteData,
    Organizer,
    ParticipationStatus,
    RemoteEvent,
    Transparency,
    geo_or_none,
    own_participation,
)
from providers.caldav.fastical import read_simple_item
from providers.caldav.ical_write import add_written_fields

#: Key of ``RemoteEvent.extra`` holding the already parsed ``icalendar.Calendar``.
PARSED_ICALENDAR = "icalendar"

_STATUS: dict[str, EventStatus] = {
    "CONFIRMED": "confirmed",
    "TENTATIVE": "tentative",
    "CANCELLED": "cancelled",
}
_PARTSTAT: dict[str, ParticipationStatus] = {
    "NEEDS-ACTION": "needs_action",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
}


def _aware(value: dt.datetime, default_zone: dt.tzinfo | None) -> dt.datetime:
    """A floating time in ``default_zone``; without one it stays floating (naive)."""
    if value.tzinfo is not None or default_zone is None:
        return value
    return value.replace(tzinfo=default_zone)


def _tzid_of(value: dt.datetime | dt.date, prop: Any) -> str | None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return None
    key = getattr(value.tzinfo, "key", None)
    if key:
        return str(key)
    if value.tzinfo is dt.UTC:
        return "UTC"
    tzid = getattr(prop, "params", {}).get("TZID")
    return str(tzid) if tzid else value.tzinfo.tzname(value)


def _date_value(component: icalendar.cal.Component, name: str) -> dt.datetime | dt.date | None:
    prop = component.get(name)
    if prop is None:
        return None
    value = getattr(prop, "dt", None)
    if not isinstance(value, dt.date):
        raise InvalidRemoteData(f"{name} is not a date or date-time")
    return value


def _informative_date(
    component: icalendar.cal.Component, name: str
) -> dt.datetime | dt.date | None:
    """A date that only informs (LAST-MODIFIED, DTSTAMP): broken means absent, floating UTC.

    RFC 5545 requires UTC here, but SabreDAV (Nextcloud, Baïkal) exports floating values.
    """
    try:
        value = _date_value(component, name)
    except (InvalidRemoteData, ValueError, TypeError):
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _address(value: Any) -> str:
    text = str(value).strip().lower()
    return text[len("mailto:") :] if text.startswith("mailto:") else text


def _is_me(address: str, user_addresses: Collection[str]) -> bool:
    if address in user_addresses:
        return True
    local_part = address.split("@", 1)[0]
    return any("@" not in mine and mine == local_part for mine in user_addresses)


def instance_key(value: dt.datetime | dt.date) -> str:
    """A RECURRENCE-ID as ``RemoteEvent.instance_participation`` keys it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def _instance_participation(
    events: list[icalendar.cal.Component], user_addresses: Collection[str]
) -> dict[str, ParticipationStatus]:
    """The user's reply per overridden instance, where the override has their ATTENDEE."""
    replies: dict[str, ParticipationStatus] = {}
    for event in events:
        recurrence_id = getattr(event.get("RECURRENCE-ID"), "dt", None)
        if not isinstance(recurrence_id, dt.date):
            continue
        own = [a for a in attendees_of(event, user_addresses) if a.is_self]
        if own:
            replies[instance_key(recurrence_id)] = own[0].status
    return replies


def _property_list(component: icalendar.cal.Component, name: str) -> list[Any]:
    values = component.get(name, [])
    return values if isinstance(values, list) else [values]


def _cn(prop: Any) -> str:
    params = getattr(prop, "params", None) or {}
    return str(params.get("CN", "")).strip()


def attendees_of(
    component: icalendar.cal.Component, user_addresses: Collection[str]
) -> list[Attendee]:
    """The ATTENDEE lines: address (``mailto:`` dropped), CN and PARTSTAT.

    A line with no address is left out; PARTSTAT absent is NEEDS-ACTION (RFC 5545's
    default), one we do not know (DELEGATED…) ``unknown``.
    """
    found: list[Attendee] = []
    for prop in _property_list(component, "ATTENDEE"):
        address = _address(prop)
        if not address:
            continue
        params = getattr(prop, "params", None) or {}
        partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        found.append(
            Attendee(
                email=_display_address(prop),
                display_name=_cn(prop),
                status=_PARTSTAT.get(partstat, "unknown"),
                is_self=_is_me(address, user_addresses),
            )
        )
    return found


def organizer_of(
    component: icalendar.cal.Component, user_addresses: Collection[str]
) -> Organizer | None:
    """The ORGANIZER line (address and CN), or None when there is none."""
    prop = component.get("ORGANIZER")
    if isinstance(prop, list):
        prop = prop[0] if prop else None
    if prop is None or not _address(prop):
        return None
    return Organizer(
        email=_display_address(prop),
        display_name=_cn(prop),
        is_self=_is_me(_address(prop), user_addresses),
    )


def _display_address(value: Any) -> str:
    """The address as written, without its ``mailto:`` scheme (case kept)."""
    text = str(value).strip()
    return text[len("mailto:") :] if text.lower().startswith("mailto:") else text


def participation_status(
    master: icalendar.cal.Component, user_addresses: Collection[str]
) -> ParticipationStatus:
    """The user's PARTSTAT as an attendee; the organizer of their own event has accepted."""
    return own_participation(
        attendees_of(master, user_addresses), organizer_of(master, user_addresses)
    )


def _recurrence_lines(master: icalendar.cal.Component) -> list[str]:
    lines: list[str] = []
    for name in ("RRULE", "RDATE", "EXDATE"):
        values = master.get(name)
        if values is None:
            continue
        for value in values if isinstance(values, list) else [values]:
            lines.append(str(master.content_line(name, value)))
    return lines


def _conferencing(master: icalendar.cal.Component) -> Conferencing | None:
    """RFC 7986 CONFERENCE (what :func:`ical_from_remote_event` writes)."""
    conference = master.get("CONFERENCE")
    if conference is None:
        return None
    first = conference[0] if isinstance(conference, list) else conference
    label = str(first.params.get("LABEL", "")) if hasattr(first, "params") else ""
    return Conferencing(provider_description=label, join_url=str(first))


def remote_event_from_ical(
    href: str,
    etag: str | None,
    ical_text: str,
    user_addresses: Collection[str] = (),
    default_zone: dt.tzinfo | None = None,
    *,
    fast_path: bool = True,
) -> RemoteEvent | None:
    """One calendar object resource as a RemoteEvent; ``None`` when it holds no VEVENT.

    Floating times are in the calendar's zone: the object's ``X-WR-TIMEZONE``, else
    ``default_zone`` (the collection's ``calendar-timezone``); with neither they stay
    floating (naive, no ``tzid``) and syncd places them in the account's zone, for
    single events and series alike.

    A resource holding one VEVENT that is no override is read by
    :mod:`providers.caldav.fastical` (the same values, several times faster);
    ``fast_path=False`` always builds the whole ``icalendar.Calendar`` (the tests compare
    both, and the series they expand to).

    Raises InvalidRemoteData when the text is not usable iCalendar.
    """
    simple = read_simple_item(ical_text) if fast_path else None
    if simple is not None:
        calendar, event = simple
        # A plain event is expanded from its fields; a series from its component.
        recurring = any(name in event for name in _RECURRENCE_PROPERTIES)
        extra = {PARSED_ICALENDAR: _series_calendar(calendar, event)} if recurring else {}
        return _remote_event(
            href, etag, ical_text, calendar, [event], extra, user_addresses, default_zone
        )
    try:
        parsed = icalendar.Calendar.from_ical(ical_text)
    except ValueError as error:
        raise InvalidRemoteData(f"not iCalendar: {error}") from error
    events = parsed.walk("VEVENT")
    if not events:
        if parsed.walk("VTODO") or parsed.walk("VJOURNAL"):
            return None
        raise InvalidRemoteData("no VEVENT in calendar object")
    # In memory only (never stored): lets series expansion skip a second parse.
    extra = {PARSED_ICALENDAR: parsed}
    return _remote_event(href, etag, ical_text, parsed, events, extra, user_addresses, default_zone)


_RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE")


def _series_calendar(
    calendar: icalendar.cal.Component, event: icalendar.cal.Component
) -> icalendar.Calendar:
    """The fast path's series as ``from_ical``'s calendar as far as expansion reads it:
    the object's own properties and its VEVENT. Its VTIMEZONEs are left out (they are
    already applied to the event's times; nothing reads them again), and ``calendar``
    itself is shared between items, so it is copied, never added to."""
    parsed = icalendar.Calendar()
    parsed.update(calendar)
    parsed.add_component(event)
    return parsed


def _remote_event(
    href: str,
    etag: str | None,
    ical_text: str,
    calendar: icalendar.cal.Component,
    events: list[icalendar.cal.Component],
    extra: dict[str, Any],
    user_addresses: Collection[str],
    default_zone: dt.tzinfo | None,
) -> RemoteEvent:
    """The RemoteEvent of a parsed resource: ``calendar`` gives its own properties,
    ``events`` its VEVENTs in document order."""
    # Floating times mean "wherever the calendar is": X-WR-TIMEZONE when the object says.
    default_zone = zone_named(str(calendar.get("X-WR-TIMEZONE", ""))) or default_zone
    masters = [event for event in events if event.get("RECURRENCE-ID") is None]
    master = masters[0] if masters else events[0]

    start, end, all_day, tzid = _event_times(master, default_zone)
    recurrence_id = _date_value(master, "RECURRENCE-ID")
    updated = _informative_date(master, "LAST-MODIFIED") or _informative_date(master, "DTSTAMP")
    attendees = attendees_of(master, user_addresses)
    organizer = organizer_of(master, user_addresses)
    return RemoteEvent(
        provider_event_id=href,
        start=start,
        end=end,
        ical_uid=str(master["UID"]) if master.get("UID") is not None else None,
        tzid=None if all_day else (tzid or getattr(default_zone, "key", None)),
        all_day=all_day,
        summary=str(master.get("SUMMARY", "")),
        description=str(master.get("DESCRIPTION", "")),
        location=str(master.get("LOCATION", "")),
        geo=_geo(master),
        status=_STATUS.get(str(master.get("STATUS", "CONFIRMED")).upper(), "confirmed"),
        transparency=_transparency(master),
        participation_status=own_participation(attendees, organizer),
        recurrence=_recurrence_lines(master),
        original_start=recurrence_id if not masters else None,
        ical=ical_text,
        conferencing=_conferencing(master),
        updated=updated if isinstance(updated, dt.datetime) else None,
        etag=etag,
        extra=extra,
        instance_participation=_instance_participation(events, user_addresses) if masters else {},
        attendees=attendees,
        organizer=organizer,
        can_reply=any(a.is_self for a in attendees) and not (organizer and organizer.is_self),
    )


def _geo(master: icalendar.cal.Component) -> Geo | None:
    """GEO (``lat;long``), when the VEVENT has a valid one."""
    value = master.get("GEO")
    return geo_or_none(getattr(value, "latitude", None), getattr(value, "longitude", None))


def _event_times(
    master: icalendar.cal.Component, default_zone: dt.tzinfo | None
) -> tuple[dt.datetime | dt.date, dt.datetime | dt.date, bool, str | None]:
    """(start, end, all_day, tzid) of a VEVENT; floating times are in ``default_zone``."""
    start = _date_value(master, "DTSTART")
    if start is None:
        raise InvalidRemoteData("VEVENT without DTSTART")
    all_day = not isinstance(start, dt.datetime)
    end = _end_value(master, start, all_day)
    tzid: str | None = None
    if all_day:
        start = start if not isinstance(start, dt.datetime) else start.date()
        end = end.date() if isinstance(end, dt.datetime) else end
    else:
        if not isinstance(end, dt.datetime):
            raise InvalidRemoteData("DTEND is a date while DTSTART is a date-time")
        assert isinstance(start, dt.datetime)
        tzid = _tzid_of(start, master.get("DTSTART"))
        start, end = _aware(start, default_zone), _aware(end, default_zone)
        if (start.tzinfo is None) != (end.tzinfo is None):  # floating DTSTART, UTC DTEND…
            start, end = _aware(start, dt.UTC), _aware(end, dt.UTC)
    if end < start:
        raise InvalidRemoteData("event ends before it starts")
    return start, end, all_day, tzid


def _end_value(
    master: icalendar.cal.Component, start: dt.datetime | dt.date, all_day: bool
) -> dt.datetime | dt.date:
    """DTEND; else DTSTART + DURATION; else one day (all-day) or an instant."""
    end = _date_value(master, "DTEND")
    if end is None and master.get("DURATION") is not None:
        duration = getattr(master.get("DURATION"), "dt", None)
        if not isinstance(duration, dt.timedelta):
            raise InvalidRemoteData("DURATION is not a duration")
        end = exact_end(start, duration)
    if end is None:
        end = start + dt.timedelta(days=1) if all_day else start
    return end


def exact_end(start: dt.datetime | dt.date, duration: dt.timedelta) -> dt.datetime | dt.date:
    """``start + duration`` as RFC 5545 §3.3.6 says: days and weeks are nominal (same wall
    clock time), hours, minutes and seconds exact (elapsed time, across DST changes)."""
    if not isinstance(start, dt.datetime) or start.tzinfo is None or duration < dt.timedelta():
        return start + duration
    nominal = start + dt.timedelta(days=duration.days)
    elapsed = duration - dt.timedelta(days=duration.days)
    return (nominal.astimezone(dt.UTC) + elapsed).astimezone(start.tzinfo)


def _transparency(master: icalendar.cal.Component) -> Transparency:
    return "transparent" if str(master.get("TRANSP", "")).upper() == "TRANSPARENT" else "opaque"


def ical_from_remote_event(event: RemoteEvent, uid: str, organizer: str | None = None) -> str:
    """A VCALENDAR for an event given as fields (what ``upsert_event`` writes);
    ``organizer`` is the account's address, written when the event has attendees."""
    return str(vcalendar_of(event, uid, organizer).to_ical().decode())


def vcalendar_of(event: RemoteEvent, uid: str, organizer: str | None = None) -> icalendar.Calendar:
    """``ical_from_remote_event`` before serialisation."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//syncd//CalDAV adapter//EN")
    calendar.add("version", "2.0")
    vevent = icalendar.Event()
    vevent.add("uid", uid)
    vevent.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    zone = zone_named(event.tzid)
    for name, value in (("dtstart", event.start), ("dtend", event.end)):
        if event.all_day and isinstance(value, dt.datetime):
            value = value.date()
        elif isinstance(value, dt.datetime) and zone is not None:
            value = value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
        vevent.add(name, value)
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("status", event.status.upper())
    vevent.add("transp", event.transparency.upper())
    if event.recurrence:
        _add_recurrence(vevent, event.recurrence)
    if event.conferencing is not None:
        vevent.add(
            "conference",
            event.conferencing.join_url,
            parameters={
                "VALUE": "URI",
                "FEATURE": "VIDEO",
                "LABEL": event.conferencing.provider_description,
            },
        )
    add_written_fields(vevent, event, organizer)
    calendar.add_component(vevent)
    if zone is not None and any(isinstance(v, dt.datetime) for v in (event.start, event.end)):
        calendar.add_missing_timezones()
    return calendar


def _add_recurrence(vevent: icalendar.Event, recurrence: list[str]) -> None:
    """The RRULE/RDATE/EXDATE lines, parsed as iCalendar, onto ``vevent``."""
    lines = "\r\n".join(recurrence)
    parsed = icalendar.Event.from_ical(f"BEGIN:VEVENT\r\n{lines}\r\nEND:VEVENT\r\n")
    for line_name, line_value in parsed.property_items(recursive=False):
        if line_name not in ("BEGIN", "END"):
            vevent.add(line_name, line_value)


def zone_named(tzid: str | None) -> ZoneInfo | None:
    if not tzid:
        return None
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def calendar_timezone(text: str | None) -> str | None:
    if not text:
        return None
    try:
        timezones = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")
    except ValueError:
        return None
    return str(timezones[0]["TZID"]) if timezones and timezones[0].get("TZID") else None


def uid_in(ical_text: str) -> str:
    try:
        for component in icalendar.Calendar.from_ical(ical_text).walk("VEVENT"):
            if component.get("UID"):
                return str(component["UID"])
    except ValueError as error:
        raise InvalidRemoteData(f"not iCalendar: {error}") from error
    raise InvalidRemoteData("the calendar object has no UID")
