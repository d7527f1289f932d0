"""A Google/Microsoft master's recurrence lines (``RemoteEvent.recurrence``), parsed once.

A calendar's series share a handful of rule sets ("weekly", "every weekday"…), so the
lines are parsed and checked once per distinct set, and their simple shape
(:mod:`syncd.calendar.simple_series`) is read once too. The check that a parsed
component holds no broken time or rule is shared with the CalDAV path. Pure.
"""

from __future__ import annotations

import functools

import icalendar

from providers.base import RemoteEvent
from syncd.calendar.bounds import FREQUENCY_SECONDS, InvalidSeries
from syncd.calendar.simple_series import SimpleRule, simple_rule_of

_RECURRENCE_PROPERTIES = frozenset({"RRULE", "RDATE", "EXDATE"})
_TIME_PROPERTIES = frozenset({"DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"})


def parse_recurrence_lines(event: RemoteEvent) -> icalendar.Event:
    """A VEVENT holding only the master's RRULE/RDATE/EXDATE lines, validated."""
    parsed = validated_recurrence(event)
    # A component of its own (the caller adds DTSTART, EXDATEs…) sharing the parsed values,
    # which nothing downstream changes; lists of repeated lines are copied.
    component = icalendar.Event()
    for name, value in parsed.items():
        component[name] = list(value) if isinstance(value, list) else value
    component.errors = list(parsed.errors)
    return component


def validated_recurrence(event: RemoteEvent) -> icalendar.Event:
    """The master's recurrence lines parsed (shared, never to be changed), or
    InvalidSeries for a line that is not RRULE/RDATE/EXDATE or does not parse."""
    for line in event.recurrence:
        name = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if name not in _RECURRENCE_PROPERTIES or "\r" in line or "\n" in line:
            raise InvalidSeries(f"{event.provider_event_id}: unsupported recurrence {line!r}")
    try:
        parsed = _parsed_recurrence(tuple(event.recurrence))
    except ValueError as error:
        raise InvalidSeries(f"{event.provider_event_id}: {error}") from error
    raise_for_broken_properties(parsed, event.provider_event_id)
    return parsed


@functools.lru_cache(maxsize=512)
def simple_rule(lines: tuple[str, ...]) -> SimpleRule | None:
    """The recurrence lines' simple shape (one RRULE…), once per distinct rule set."""
    return simple_rule_of(_parsed_recurrence(lines))


@functools.lru_cache(maxsize=512)
def _parsed_recurrence(lines: tuple[str, ...]) -> icalendar.Event:
    """The recurrence lines parsed once per distinct rule set (a calendar's series share a
    handful: "weekly", "every weekday"…); parsing them was a quarter of an expansion."""
    text = "BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n"
    component = icalendar.Event.from_ical(text)
    if not isinstance(component, icalendar.Event):
        raise ValueError("recurrence lines are not a VEVENT")
    return component


def raise_for_broken_properties(component: icalendar.Component, item_id: str) -> None:
    """icalendar parses leniently; a broken time or rule would silently vanish."""
    for name, message in getattr(component, "errors", []):
        if name.upper() in _RECURRENCE_PROPERTIES | _TIME_PROPERTIES:
            raise InvalidSeries(f"{item_id}: bad {name}: {message}")
    rules = component.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        frequency = rule.get("FREQ", [None])[0]
        if frequency not in FREQUENCY_SECONDS:
            raise InvalidSeries(f"{item_id}: RRULE without a valid FREQ: {rule.to_ical()!r}")
        if int(rule.get("INTERVAL", [1])[0]) < 1:
            raise InvalidSeries(f"{item_id}: RRULE INTERVAL must be positive: {rule.to_ical()!r}")
