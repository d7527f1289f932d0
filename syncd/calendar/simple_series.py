"""The common series shape expanded with dateutil directly, without recurring-ical-events.

Most recurring events are one master with one RRULE (maybe EXDATEs and RDATEs), timed
in an IANA zone or UTC, or all-day, plus a few moved or cancelled instances. For those,
building an iCalendar object and running recurring-ical-events costs ~1 ms a series; the
RRULE engine underneath (dateutil) is a fraction of it. This module runs dateutil as
recurring-ical-events 3.x does (DTSTART and RDATEs first, then the rule; EXDATEs and
RECURRENCE-IDs matched by its recurrence ids, in UTC and on the wall clock; the same
span test) and answers ``None`` for anything else, which then takes the library path.
``tests/unit/calendar/test_simple_series_differential.py`` proves both paths equal.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrule, rrulestr
from icalendar.prop import vDDDTypes
from recurring_ical_events.util import time_span_contains_event, to_recurrence_ids

from syncd.calendar.bounds import (
    MAX_OCCURRENCES_PER_SERIES,
    Window,
    check_rule_density,
    query_span,
    repeats_at_most_daily,
)

Time = dt.date | dt.datetime

#: RRULE parts dateutil reads as recurring-ical-events hands them over; anything else
#: (RSCALE, SKIP, X- parts, BYHOUR…) takes the library path.
_SIMPLE_PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYSETPOS",
        "WKST",
    }
)
_UTC = dt.UTC


@dataclass(frozen=True)
class SimpleRule:
    """A master's recurrence, when it has the simple shape: one RRULE, its RDATEs and
    EXDATEs (plain dates or date-times, no periods)."""

    rule: icalendar.vRecur
    #: The RRULE as recurring-ical-events hands it to dateutil (icalendar's serialisation).
    text: str
    rdates: tuple[Time, ...]
    exdates: tuple[Time, ...]


@dataclass(frozen=True)
class Modification:
    """An instance moved or changed: the instance it replaces and its own times."""

    recurrence_id: Time
    start: Time
    end: Time
    #: Handed back with the occurrence it yields, to find its state.
    key: Hashable


@dataclass(frozen=True)
class SimpleOccurrence:
    """One occurrence: the master's (``key`` None) or a modification's."""

    start: Time
    end: Time
    key: Hashable | None


def simple_rule_of(component: icalendar.Component) -> SimpleRule | None:
    """The component's recurrence if it has the simple shape, else None."""
    if "EXRULE" in component:
        return None
    rules = component.get("RRULE")
    if not isinstance(rules, icalendar.vRecur) or not set(rules) <= _SIMPLE_PARTS:
        return None
    if not repeats_at_most_daily(rules) or int(rules.get("INTERVAL", [1])[0]) < 1:
        return None
    if "COUNT" in rules and int(rules["COUNT"][0]) < 1:
        return None
    rdates = _values(component.get("RDATE"))
    exdates = _values(component.get("EXDATE"))
    if rdates is None or exdates is None:
        return None
    text = rules.to_ical().decode()  # type: ignore[no-untyped-call]
    return SimpleRule(rules, text, rdates, exdates)


def _values(prop: object) -> tuple[Time, ...] | None:
    """The dates of RDATE/EXDATE lines; None if a line holds a period or a duration."""
    found: list[Time] = []
    for line in prop if isinstance(prop, list) else [prop] if prop is not None else []:
        for value in getattr(line, "dts", ()):
            if not isinstance(value.dt, dt.date):
                return None
            found.append(value.dt)
    return tuple(found)


def _kind(value: object) -> str | None:
    """ "date", "aware" (an IANA zone or UTC) or None for anything else (floating, pytz,
    a zone of a custom VTIMEZONE)."""
    if not isinstance(value, dt.datetime):
        return "date" if isinstance(value, dt.date) else None
    zone = value.tzinfo
    return "aware" if isinstance(zone, ZoneInfo) or zone is _UTC else None


def simple_occurrences(
    start: Time,
    end: Time,
    rule: SimpleRule,
    extra_exdates: Sequence[Time],
    modifications: Sequence[Modification],
    window: Window,
    item_id: str,
) -> list[SimpleOccurrence] | None:
    """The series' occurrences in the window's query span, or None: not the simple shape.

    Raises InvalidSeries for a rule too dense to step through (as the library path).
    """
    kind = _kind(start)
    if kind is None or _kind(end) != kind:
        return None
    exdates = (*rule.exdates, *extra_exdates)
    if any(_kind(value) != kind for value in rule.rdates):
        return None
    if any(_kind(value) not in ("date", kind) for value in exdates):
        return None
    for modification in modifications:
        moved = {_kind(modification.start), _kind(modification.end)}
        if _kind(modification.recurrence_id) != kind or len(moved) != 1 or None in moved:
            return None
    check_rule_density(rule.rule, start, window, item_id)
    query_start, query_end = query_span(window)
    query_days = (query_end - query_start) / dt.timedelta(days=1) + 1
    if query_days + len(rule.rdates) > MAX_OCCURRENCES_PER_SERIES:
        return None
    try:
        found = _expand(start, end, kind, rule, exdates, modifications, query_start, query_end)
    except (ValueError, TypeError, OverflowError):
        return None  # the library path says what is wrong
    if found is None or len(found) > MAX_OCCURRENCES_PER_SERIES:
        return None
    return found


def _expand(
    start: Time,
    end: Time,
    kind: str,
    rule: SimpleRule,
    exdates: Sequence[Time],
    modifications: Sequence[Modification],
    query_start: dt.datetime,
    query_end: dt.datetime,
) -> list[SimpleOccurrence] | None:
    if start > end:  # one kind: comparable
        start, end = end, start
    duration: dt.timedelta = end - start  # type: ignore[operator]
    starts = _starts(_as_datetime(start), duration, kind == "date", rule, query_start, query_end)
    by_recurrence_id = _by_recurrence_id(modifications)
    if starts is None or by_recurrence_id is None:
        return None
    excluded_days = {value for value in exdates if not isinstance(value, dt.datetime)}
    excluded_ids = {key for value in exdates for key in to_recurrence_ids(value)}
    found: list[SimpleOccurrence] = []
    seen: set[dt.datetime] = set()
    yielded: set[Hashable] = set()
    for occurrence_start in starts:
        recurrence_ids = to_recurrence_ids(occurrence_start)
        if (
            occurrence_start in seen
            or _date_of(occurrence_start) in excluded_days
            or not excluded_ids.isdisjoint(recurrence_ids)
        ):
            continue
        moved: Modification | None = None
        for recurrence_id in recurrence_ids:
            moved = by_recurrence_id.get(recurrence_id, moved)
        if moved is None:
            seen.add(occurrence_start)
            occurrence = _of_master(occurrence_start, duration, kind)
        elif moved.key in yielded:
            continue
        else:
            yielded.add(moved.key)
            occurrence = _moved(moved)
        # The master's timed occurrences are aware like the query span: comparable as
        # they are (the library's make_comparable would hand back the same values).
        comparable = moved is None and kind == "aware"
        if time_span_contains_event(
            query_start, query_end, occurrence.start, occurrence.end, comparable
        ):
            found.append(occurrence)
    for modification in modifications:  # moved instances of no instance still show
        if modification.key not in yielded and excluded_ids.isdisjoint(
            to_recurrence_ids(modification.recurrence_id)
        ):
            occurrence = _moved(modification)
            if time_span_contains_event(query_start, query_end, occurrence.start, occurrence.end):
                yielded.add(modification.key)
                found.append(occurrence)
    return found


def _by_recurrence_id(
    modifications: Sequence[Modification],
) -> dict[dt.datetime, Modification] | None:
    """Modifications by every recurrence id of theirs (UTC and wall clock), as the library
    matches them; None if two claim one instance (the library path decides)."""
    found: dict[dt.datetime, Modification] = {}
    for modification in modifications:
        for recurrence_id in set(to_recurrence_ids(modification.recurrence_id)):
            if recurrence_id in found:
                return None
            found[recurrence_id] = modification
    return found


def _of_master(start: dt.datetime, duration: dt.timedelta, kind: str) -> SimpleOccurrence:
    """The master's occurrence at ``start``: dates again for an all-day series."""
    if kind == "date":
        return SimpleOccurrence(_date_of(start), _date_of(start + duration), None)
    return SimpleOccurrence(start, start + duration, None)


def _starts(
    first: dt.datetime,
    duration: dt.timedelta,
    all_dates: bool,
    rule: SimpleRule,
    query_start: dt.datetime,
    query_end: dt.datetime,
) -> list[dt.datetime] | None:
    """Candidate starts in the library's order: DTSTART and RDATEs, then the rule's, in
    the query span widened back by the duration (naive for all-day series)."""
    dateutil_rule, until = _dateutil_rule(rule.text, first, all_dates)
    candidates = _candidates(first, until, rule.rdates)
    if dateutil_rule is None or candidates is None:
        return None
    span_start, span_stop = query_start - duration, query_end
    if all_dates:
        span_start, span_stop = span_start.replace(tzinfo=None), span_stop.replace(tzinfo=None)
    starts = [value for value in candidates if span_start <= value <= span_stop]
    starts.extend(
        value
        for value in dateutil_rule.between(span_start, span_stop, inc=True)
        if until is None or not _greater(value, until)
    )
    return starts


def _moved(modification: Modification) -> SimpleOccurrence:
    """A modification's own times, earlier first."""
    start, end = modification.start, modification.end
    if start > end:  # checked to be of one kind
        start, end = end, start
    return SimpleOccurrence(start, end, modification.key)


def _candidates(
    first: dt.datetime, until: Time | None, rdates: Sequence[Time]
) -> list[dt.datetime] | None:
    """DTSTART (unless it lies after UNTIL) and the RDATEs, sorted; None when two of them
    are the same moment written differently (dateutil then keeps either)."""
    values = [_as_datetime(value) for value in rdates]
    if until is None or not _greater(first, until):
        values.append(first)
    unique: dict[dt.datetime, dt.datetime] = {}
    for value in values:
        known = unique.setdefault(value, value)
        if known.tzinfo is not value.tzinfo or known.fold != value.fold:
            return None
    return sorted(unique)


def _dateutil_rule(
    text: str, first: dt.datetime, all_dates: bool
) -> tuple[rrule | None, Time | None]:
    """The dateutil rule from DTSTART and the UNTIL it is cut at, as the library makes it.

    dateutil refuses an UNTIL of another kind than DTSTART; recurring-ical-events then
    reads a date UNTIL of an all-day series as that date, and a date or floating UNTIL of
    a timed series as UTC. Anything it would refuse besides answers None.
    """
    try:
        return _rule_with_until(text, first)
    except ValueError:
        pass
    before, separator, after = text.partition(";UNTIL=")
    if not separator or ";UNTIL=" in after:
        return None, None
    until_text, _, rest = after.partition(";")
    if all_dates:
        until_text = until_text[:8]
    else:
        if len(until_text) == 8:
            until_text += "T000000"
        if len(until_text) != 15:
            return None, None
        until_text += "Z"
    rebuilt = before + (";" + rest if rest else "") + ";UNTIL=" + until_text
    try:
        return _rule_with_until(rebuilt, first)
    except ValueError:
        return None, None


def _rule_with_until(text: str, first: dt.datetime) -> tuple[rrule, Time | None]:
    parsed = _parsed_rule(text, first.tzinfo is not None).replace(dtstart=first)
    _, separator, after = text.partition(";UNTIL=")
    until = vDDDTypes.from_ical(after.partition(";")[0]) if separator else None  # type: ignore[no-untyped-call]
    return parsed, until


@functools.lru_cache(maxsize=1024)
def _parsed_rule(text: str, aware: bool) -> rrule:
    """The rule ``text`` parsed once (calendars repeat a handful of rules: every weekly
    meeting on a Monday), at a stand-in DTSTART of the same awareness (dateutil refuses
    an UNTIL of the other kind); each series takes it with its own DTSTART through
    ``rrule.replace``, which builds the rule again from what the text said, so every
    default (the weekday, the day of the month) comes from the series' own start."""
    stand_in = dt.datetime(2000, 1, 1, tzinfo=_UTC if aware else None)  # noqa: DTZ001
    parsed = rrulestr(text, dtstart=stand_in)
    if not isinstance(parsed, rrule):
        raise ValueError(f"not one rule: {text!r}")
    return parsed


def _as_datetime(value: Time) -> dt.datetime:
    """Dates become naive midnights (the library's comparable form for all-day series)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day)  # noqa: DTZ001


def _date_of(value: Time) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def _greater(value: dt.datetime, until: Time) -> bool:
    """``value > until`` after the library's make_comparable (dates become datetimes in
    the other side's zone, or naive)."""
    if not isinstance(until, dt.datetime):
        until = dt.datetime(until.year, until.month, until.day, tzinfo=value.tzinfo)
    elif until.tzinfo is None and value.tzinfo is not None:
        until = until.replace(tzinfo=value.tzinfo)
    elif value.tzinfo is None and until.tzinfo is not None:
        value = value.replace(tzinfo=until.tzinfo)
    return value > until


@dataclass(frozen=True)
class IcalSeries:
    """A CalDAV item of the simple shape: one master VEVENT with one RRULE and its
    RECURRENCE-ID overrides, all of one UID (a modification's key: its UTC id)."""

    uid: str
    start: Time
    end: Time
    rule: SimpleRule
    modifications: tuple[Modification, ...]


def simple_ical_series(
    calendar: icalendar.Calendar, events: Sequence[icalendar.Component]
) -> IcalSeries | None:
    """The item's series if it has the simple shape, else None (X-WR-TIMEZONE, another
    calendar scale, several masters or UIDs, RANGE, rules in overrides…)."""
    if "X-WR-TIMEZONE" in calendar or calendar.get("CALSCALE", "GREGORIAN") != "GREGORIAN":
        return None
    uids: set[str] = {str(event.get("UID")) for event in events}
    if any("UID" not in event for event in events) or len(uids) != 1:
        return None
    masters = [event for event in events if "RECURRENCE-ID" not in event]
    rule = simple_rule_of(masters[0]) if len(masters) == 1 else None
    if rule is None:
        return None
    modifications = []
    for event in events:
        if event is masters[0]:
            continue
        recurrence_id: Any = event.get("RECURRENCE-ID")
        if "RANGE" in recurrence_id.params or any(
            name in event for name in ("RRULE", "RDATE", "EXDATE", "EXRULE")
        ):
            return None
        original: Any = recurrence_id.dt
        start: Any = event.get("DTSTART").dt
        end = _raw_end(event)
        if end is None or not isinstance(original, dt.date):
            return None
        key = to_recurrence_ids(original)[0]
        modifications.append(Modification(original, start, end, key))
    master_end = _raw_end(masters[0])
    if master_end is None:
        return None
    master_start: Any = masters[0].get("DTSTART").dt
    return IcalSeries(uids.pop(), master_start, master_end, rule, tuple(modifications))


def _raw_end(event: icalendar.Component) -> Time | None:
    """The end recurring-ical-events reads (DTEND, else DTSTART + DURATION, else a day
    or nothing); None for a DURATION that is negative or not a plain duration."""
    start: Any = event.get("DTSTART").dt
    if "DTEND" in event:
        end: Any = event.get("DTEND").dt
        return end  # type: ignore[no-any-return]
    if "DURATION" not in event:
        return start + dt.timedelta(days=1) if _kind(start) == "date" else start  # type: ignore[no-any-return]
    duration: Any = event.get("DURATION").dt
    if not isinstance(duration, dt.timedelta) or duration < dt.timedelta():
        return None
    if duration.seconds != 0 and _kind(start) == "date":
        start = _as_datetime(start)
    return start + duration  # type: ignore[no-any-return]
