"""The iCalendar we write beyond times and text: people, alarms, URL, colour, class, geo.

RFC 5545 (ATTENDEE with RSVP/PARTSTAT and ORGANIZER, VALARM, URL, CLASS, GEO) and
RFC 7986 (COLOR, a CSS3 colour name: a ``#rrggbb`` is written as the nearest one). A
server with CalDAV scheduling (RFC 6638) sends the invitations; one without (Radicale)
stores the attendees only. Replies change the PARTSTAT of the account's own ATTENDEE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import icalendar
import webcolors

from providers.base import NotFound, ParticipationStatus, PermissionDenied, RemoteEvent

__all__ = ["add_written_fields", "nearest_css_color", "with_fields", "with_reply"]

#: The account's reply as a PARTSTAT.
PARTSTATS = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
    "needs_action": "NEEDS-ACTION",
}
#: The VEVENT properties each ``RemoteEvent`` field is written to.
PROPERTIES = {
    "summary": ("SUMMARY",),
    "description": ("DESCRIPTION",),
    "location": ("LOCATION",),
    "geo": ("GEO",),
    "transparency": ("TRANSP",),
    "private": ("CLASS",),
    "url": ("URL",),
    "color": ("COLOR",),
    "attendees": ("ATTENDEE", "ORGANIZER"),
    "recurrence": ("RRULE",),
}


def nearest_css_color(color: str) -> str:
    """The CSS3 colour name nearest ``#rrggbb`` (Euclidean in RGB)."""
    wanted = webcolors.hex_to_rgb(color)

    def distance(name: str) -> int:
        rgb = webcolors.name_to_rgb(name)
        return sum((a - b) ** 2 for a, b in zip(rgb, wanted, strict=True))

    return str(min(sorted(webcolors.names("css3")), key=distance))


def _mailto(email: str) -> str:
    return f"mailto:{email}"


def organizer_address(credentials: Mapping[str, Any]) -> str | None:
    """The account's e-mail address to organize with: the stored ``email``, else the
    username when it is one; None without (attendees cannot be invited then)."""
    email = credentials.get("email")
    if email:
        return str(email)
    username = str(credentials.get("username") or "")
    return username if "@" in username else None


def add_written_fields(vevent: icalendar.Event, event: RemoteEvent, organizer: str | None) -> None:
    """ATTENDEE/ORGANIZER, VALARMs, URL, COLOR, CLASS and GEO of ``event`` onto ``vevent``."""
    if event.attendees:
        if not organizer:
            raise PermissionDenied("the account has no e-mail address to organize with")
        vevent.add("organizer", _mailto(organizer))
        for person in event.attendees:
            parameters = {
                "CUTYPE": "INDIVIDUAL",
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "NEEDS-ACTION",
                "RSVP": "TRUE",
            }
            if person.display_name:
                parameters["CN"] = person.display_name
            vevent.add("attendee", _mailto(person.email), parameters=parameters)
    if event.url:
        vevent.add("url", event.url, parameters={"VALUE": "URI"})
    if event.color:
        vevent.add("color", nearest_css_color(event.color))
    vevent.add("class", "PRIVATE" if event.private else "PUBLIC")
    if event.geo is not None:
        vevent.add("geo", (event.geo.latitude, event.geo.longitude))
    for minutes in event.reminders or []:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.summary or "Reminder")
        alarm.add("trigger", dt.timedelta(minutes=-minutes))
        vevent.add_component(alarm)


def _master(calendar: icalendar.Calendar) -> icalendar.cal.Component:
    for component in calendar.walk("VEVENT"):
        if component.get("RECURRENCE-ID") is None:
            return component
    raise NotFound("the calendar object holds no VEVENT")


def _address(value: object) -> str:
    text = str(value).strip().lower()
    return text[len("mailto:") :] if text.startswith("mailto:") else text


def with_reply(ical_text: str, user_addresses: Collection[str], status: ParticipationStatus) -> str:
    """The resource with PARTSTAT of the account's ATTENDEE set in every VEVENT that lists
    it (the series and its overrides); PermissionDenied when none does."""
    calendar = icalendar.Calendar.from_ical(ical_text)
    partstat = PARTSTATS.get(status)
    if partstat is None:
        raise PermissionDenied(f"cannot reply {status!r}")
    found = False
    for component in calendar.walk("VEVENT"):
        attendees = component.get("ATTENDEE", [])
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            address = _address(attendee)
            local = address.split("@", 1)[0]
            if address in user_addresses or any(
                "@" not in mine and mine == local for mine in user_addresses
            ):
                attendee.params["PARTSTAT"] = partstat
                attendee.params.pop("RSVP", None)
                found = True
        if found:
            _touch(component)
    if not found:
        raise PermissionDenied("the account is not an attendee of this event")
    return str(calendar.to_ical().decode())


def _touch(component: icalendar.cal.Component) -> None:
    """A changed VEVENT carries a new DTSTAMP (RFC 5545 3.8.7.2)."""
    component.pop("DTSTAMP", None)
    component.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))


def with_fields(ical_text: str, written: icalendar.cal.Component, fields: frozenset[str]) -> str:
    """The stored resource with ``fields`` replaced by those of ``written`` (the VEVENT we
    would write for the event), everything else as its owner made it."""
    calendar = icalendar.Calendar.from_ical(ical_text)
    master = _master(calendar)
    names = {name for field in fields for name in PROPERTIES.get(field, ())}
    if "start" in fields or "end" in fields:
        names |= {"DTSTART", "DTEND", "DURATION"}
    for name in names:
        master.pop(name, None)
        value = written.get(name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            master.add(name, item, encode=False)
    if "reminders" in fields:
        master.subcomponents = [c for c in master.subcomponents if c.name != "VALARM"]
        master.subcomponents += [c for c in written.subcomponents if c.name == "VALARM"]
    _touch(master)
    sequence = int(master.get("SEQUENCE", 0)) + 1
    master.pop("SEQUENCE", None)
    master.add("sequence", sequence)
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode())
