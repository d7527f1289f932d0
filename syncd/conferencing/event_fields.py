"""The event fields of an upsert beyond times and conferencing, as the worker writes them.

Cronofy's upsert carries ``attendees`` (``invite``/``remove``), ``reminders``, ``url``,
``color``, ``event_private``, ``location.lat/long`` and ``recurrence.rules``. Each is
checked against what the calendar's adapter declares it writes
(``CalendarProvider.write_support``, the contract), so a field the provider cannot honour
is a 422 naming it, never accepted and dropped; the core never asks which provider it is.

What an upsert leaves out keeps what earlier upserts of the same event asked for, as
Cronofy documents: attendees accumulate (``invite`` adds, ``remove`` takes away), and
``recurrence``, ``reminders``, ``url``, ``color`` and ``event_private`` stay until they
are given again (``recurrence.rules: []`` and ``url: null`` remove). Equal requests give
equal stored dicts, so a repeated upsert writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from providers.base import EventWriteSupport
from syncd.errors import FieldErrors
from syncd.registry import provider_class
from syncd.store import managed as store
from syncd.store.crypto import SecretBox
from syncd.store.models import Calendar, Profile

__all__ = ["FIELD_DEFAULTS", "calendar_write_support", "event_fields", "recurrence_lines"]

#: What a stored request means when it lacks a field (requests stored before these
#: fields existed, or upserts that never gave them).
FIELD_DEFAULTS: dict[str, Any] = {
    "attendees": [],
    "reminders": None,
    "url": None,
    "color": None,
    "private": False,
    "geo": None,
    "recurrence": [],
}

_RRULE_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}


def calendar_write_support(
    session: Session, calendar: Calendar, box: SecretBox | None = None
) -> EventWriteSupport:
    """What the adapter of the calendar's profile declares it can write; with ``box``,
    what it can write for this profile's own credentials (``write_support_for``)."""
    profile = session.get(Profile, calendar.profile_id)
    if profile is None:
        return EventWriteSupport()
    adapter = provider_class(profile.provider)
    if box is None:
        return adapter.write_support
    return adapter.write_support_for(box.decrypt(profile.credentials_encrypted))


def event_fields(
    session: Session,
    calendar: Calendar,
    event_id: str,
    given: dict[str, Any],
    when: tuple[dt.datetime | dt.date | None, str],
    problems: FieldErrors,
    box: SecretBox | None = None,
) -> dict[str, Any]:
    """The stored form of the fields ``given`` (the request's keys that were sent, as
    plain JSON values), merged with the event's earlier request; refusals go to
    ``problems``. ``when`` is the event's start and zone, which a rule's ``until`` needs;
    ``box`` lets the profile's credentials narrow what its adapter can write."""
    row = store.find_managed_event(session, calendar.id, event_id)
    live = row is not None and row.state != store.DELETED
    previous = row.request if row is not None and live else {}
    support = calendar_write_support(session, calendar, box)
    return merge_fields(support, given, previous, live, when, problems)


def merge_fields(
    support: EventWriteSupport,
    given: dict[str, Any],
    previous: dict[str, Any],
    exists: bool,
    when: tuple[dt.datetime | dt.date | None, str],
    problems: FieldErrors,
) -> dict[str, Any]:
    """``event_fields`` without the database: pure, so each rule is tested on its own."""
    fields = {key: previous.get(key, default) for key, default in FIELD_DEFAULTS.items()}
    if "attendees" in given and given["attendees"] is not None:
        fields["attendees"] = _attendees(support, given["attendees"], fields["attendees"], problems)
    if "reminders" in given:
        reminders = given["reminders"]
        if not (given.get("reminders_create_only") and exists):
            fields["reminders"] = _reminders(support, reminders, problems)
    if "url" in given:
        if given["url"] and not support.url:
            _unsupported(problems, "url", "event URLs")
        fields["url"] = given["url"] or None
    if "color" in given:
        if given["color"] and not support.color:
            _unsupported(problems, "color", "event colours")
        fields["color"] = given["color"].lower() if given["color"] else None
    if "event_private" in given and given["event_private"] is not None:
        if given["event_private"] and not support.private:
            _unsupported(problems, "event_private", "private events")
        fields["private"] = bool(given["event_private"])
    location = given.get("location") or {}
    fields["geo"] = _geo(support, location, problems)
    if "recurrence" in given and given["recurrence"] is not None:
        fields["recurrence"] = recurrence_lines(support, given["recurrence"], when, problems)
    return fields


def _unsupported(problems: FieldErrors, field: str, what: str) -> None:
    problems.add(field, "errors.not_supported", f"this calendar's provider cannot store {what}")


def _attendees(
    support: EventWriteSupport,
    given: dict[str, Any],
    current: list[dict[str, str]],
    problems: FieldErrors,
) -> list[dict[str, str]]:
    invite = given.get("invite") or []
    remove = {person["email"].lower() for person in given.get("remove") or []}
    if invite and not support.attendees:
        problems.add(
            "attendees.invite",
            "errors.not_supported",
            "this calendar cannot invite attendees: its provider does not store them, or "
            "its account has no e-mail address to send invitations from",
        )
        return current
    wanted = [person for person in current if person["email"].lower() not in remove]
    for person in invite:
        email = person["email"]
        entry = {"email": email, "display_name": person.get("display_name") or ""}
        if email.lower() in remove:
            continue  # invited and removed in one request: removed wins
        for index, existing in enumerate(wanted):
            if existing["email"].lower() == email.lower():
                wanted[index] = entry if entry["display_name"] else existing
                break
        else:
            wanted.append(entry)
    return wanted


def _reminders(
    support: EventWriteSupport, given: list[dict[str, Any]] | None, problems: FieldErrors
) -> list[int] | None:
    """Minutes before the start, in the caller's priority order; the provider keeps the
    first ``support.reminders`` of them (Cronofy's rule for single-reminder providers)."""
    if given is None:
        return None
    minutes = [int(reminder["minutes"]) for reminder in given]
    if minutes and support.reminders == 0:
        _unsupported(problems, "reminders", "reminders")
        return None
    return minutes[: support.reminders]


def _geo(
    support: EventWriteSupport, location: dict[str, Any], problems: FieldErrors
) -> list[float] | None:
    lat, long = location.get("lat"), location.get("long")
    if lat is None and long is None:
        return None
    if lat is None or long is None:
        missing = "location.lat" if lat is None else "location.long"
        problems.add(missing, "errors.required", "lat and long are given together")
        return None
    if not support.geo:
        _unsupported(problems, "location.lat", "location coordinates")
        return None
    return [float(lat), float(long)]


def recurrence_lines(
    support: EventWriteSupport,
    recurrence: dict[str, Any],
    when: tuple[dt.datetime | dt.date | None, str],
    problems: FieldErrors,
) -> list[str]:
    """Cronofy's ``recurrence.rules`` as RRULE lines (``RRULE:FREQ=WEEKLY;…``)."""
    rules = recurrence.get("rules") or []
    if len(rules) > 1:
        problems.add("recurrence.rules", "errors.too_many", "give at most one rule")
        return []
    lines = []
    for index, rule in enumerate(rules):
        field = f"recurrence.rules[{index}]"
        frequency = rule["frequency"]
        if frequency not in support.recurrence:
            problems.add(
                f"{field}.frequency",
                "errors.not_supported",
                f"this calendar's provider cannot store {frequency} recurrence",
            )
            continue
        parts = [f"FREQ={frequency.upper()}"]
        if rule.get("interval") not in (None, 1):
            parts.append(f"INTERVAL={int(rule['interval'])}")
        by_day = rule.get("by_day") or []
        if by_day:
            if frequency != "weekly":
                problems.add(f"{field}.by_day", "errors.invalid", "by_day is for weekly rules")
            elif not support.recurrence_by_day:
                _unsupported(problems, f"{field}.by_day", "recurrence by day")
            parts.append("BYDAY=" + ",".join(_RRULE_DAYS[day] for day in by_day))
        if rule.get("count") is not None and rule.get("until") is not None:
            problems.add(f"{field}.until", "errors.invalid", "give count or until, not both")
        elif rule.get("count") is not None:
            parts.append(f"COUNT={int(rule['count'])}")
        elif rule.get("until") is not None:
            until = _until(rule["until"], when, f"{field}.until", problems)
            if until:
                parts.append(f"UNTIL={until}")
        lines.append("RRULE:" + ";".join(parts))
    return lines


def _until(
    text: str,
    when: tuple[dt.datetime | dt.date | None, str],
    field: str,
    problems: FieldErrors,
) -> str | None:
    """RFC 5545's UNTIL: a date for an all-day series, else a UTC time (a date given for a
    timed series means the end of that day in the event's zone)."""
    start, tzid = when
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(23, 59, 59), ZoneInfo(tzid))
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(tzid))
            day = moment.astimezone(ZoneInfo(tzid)).date()
    except (ValueError, KeyError):
        problems.add(field, "errors.invalid", "until must be a date or an ISO 8601 time")
        return None
    if start is None:
        return None
    if isinstance(start, dt.datetime):
        if moment < start:
            problems.add(field, "errors.invalid_time_pair", "until is before the start")
        return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    if day < start:
        problems.add(field, "errors.invalid_time_pair", "until is before the start")
    return day.strftime("%Y%m%d")
