"""Bounded expansion: how much of a series one window may cost.

A calendar entry repeating more often than a meeting ever does (FREQ=SECONDLY, or a
daily rule begun centuries ago) must not stall a sync worker. These rules cap what one
series may produce in one window, refuse rules the RRULE engine would step through for
too long, and query dense rules in doubling slices so the cap stops them early. Pure:
no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import icalendar
import recurring_ical_events
from recurring_ical_events.occurrence import Occurrence

from syncd.errors import SyncdError

logger = logging.getLogger("syncd.calendar.expansion")

#: Most spans one series may produce in one window; the earliest are kept. A calendar
#: entry repeating more often than this within a sync window (e.g. FREQ=SECONDLY) is
#: not a meeting, and expanding it fully would stall the sync worker.
MAX_OCCURRENCES_PER_SERIES = 10_000

#: Most rule periods the RRULE engine may have to step through *before* the window
#: starts (it always iterates from DTSTART). Beyond this a series is rejected with
#: InvalidSeries rather than blocking a worker for minutes, e.g. FREQ=SECONDLY begun a
#: year ago. A daily series may start ~500 years before the window.
MAX_RULE_PERIODS_BEFORE_WINDOW = 200_000

#: The widest UTC offset in use (+14:00); date and floating series are queried this much
#: wider than the window and then filtered exactly in UTC.
_WIDEST_UTC_OFFSET = dt.timedelta(hours=14)

#: First slice of the window handed to the expander; slices then double. Slicing lets
#: the occurrence cap stop a dense rule after a few thousand instances instead of after
#: materialising the whole window.
_FIRST_SLICE = dt.timedelta(hours=1)

FREQUENCY_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3_600,
    "DAILY": 86_400,
    "WEEKLY": 7 * 86_400,
    "MONTHLY": 28 * 86_400,
    "YEARLY": 365 * 86_400,
}
_UTC = dt.UTC


class InvalidSeries(SyncdError, ValueError):
    """The item cannot be expanded: malformed RRULE/iCalendar/times, or a rule too dense.

    The only exception ``expand_series`` raises for bad provider data, so the engine can
    log the item, skip it and keep syncing the rest of the calendar. Still a
    ``ValueError`` for callers that catch bad values broadly.
    """


@dataclass(frozen=True)
class Window:
    """The UTC window one expansion covers (half-open)."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, start: dt.datetime, end: dt.datetime) -> Window:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("the expansion window must be timezone-aware")
        return cls(start.astimezone(_UTC), end.astimezone(_UTC))

    def overlaps(self, span: _Span) -> bool:
        """Half-open overlap; a zero-length span counts when it lies inside the window."""
        return self.overlaps_times(span.start_utc, span.end_utc)

    def overlaps_times(self, start_utc: dt.datetime, end_utc: dt.datetime) -> bool:
        """:meth:`overlaps` of a span from ``start_utc`` to ``end_utc``."""
        if start_utc == end_utc:
            return self.start <= start_utc < self.end
        return start_utc < self.end and end_utc > self.start


class _Span(Protocol):
    @property
    def start_utc(self) -> dt.datetime: ...

    @property
    def end_utc(self) -> dt.datetime: ...


def _as_utc(value: dt.date | dt.datetime) -> dt.datetime:
    """Dates become UTC midnight and naive datetimes UTC (only used for step counts)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=_UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


def _check_rule_density(calendar: icalendar.Calendar, window: Window, item_id: str) -> None:
    """Refuse rules the RRULE engine would have to step through for too long."""
    for component in calendar.walk("VEVENT"):
        rules = component.get("RRULE")
        if rules is None:
            continue
        start = _time_of(component["DTSTART"], item_id)
        for rule in rules if isinstance(rules, list) else [rules]:
            check_rule_density(rule, start, window, item_id)


def check_rule_density(
    rule: icalendar.vRecur, start: dt.date, window: Window, item_id: str
) -> None:
    """Refuse one rule the RRULE engine would have to step through for too long.

    dateutil iterates every period from DTSTART, so FREQ=SECONDLY begun a year before
    the window costs tens of millions of steps before the first occurrence we want.
    """
    period = FREQUENCY_SECONDS[rule["FREQ"][0]] * int(rule.get("INTERVAL", [1])[0])
    stop = window.start
    if "UNTIL" in rule:
        stop = min(stop, _as_utc(rule["UNTIL"][0]))
    periods = (stop - _as_utc(start)).total_seconds() / period
    if "COUNT" in rule:
        periods = min(periods, int(rule["COUNT"][0]))
    if periods > MAX_RULE_PERIODS_BEFORE_WINDOW:
        text = rule.to_ical()  # type: ignore[no-untyped-call]
        raise InvalidSeries(
            f"{item_id}: RRULE {text!r} needs ~{periods:.0f} steps before "
            f"the window (limit {MAX_RULE_PERIODS_BEFORE_WINDOW})"
        )


def _time_of(prop: object, item_id: str) -> dt.date:
    """The date or datetime of a parsed DTSTART-like property."""
    value = getattr(prop, "dt", None)
    if not isinstance(value, dt.date):
        raise InvalidSeries(f"{item_id}: DTSTART is not a date or a date-time: {value!r}")
    return value


def _at_most_daily(calendar: icalendar.Calendar, query_days: float) -> bool:
    """Whether no series can exceed the cap in this window, so one query suffices."""
    bound = 0.0
    for component in calendar.walk("VEVENT"):
        rules = component.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            if not repeats_at_most_daily(rule):
                return False
            bound += query_days
        rdates = component.get("RDATE")
        for rdate_list in rdates if isinstance(rdates, list) else [rdates] if rdates else []:
            bound += len(rdate_list.dts)
    return bound <= MAX_OCCURRENCES_PER_SERIES


def repeats_at_most_daily(rule: icalendar.vRecur) -> bool:
    """A rule repeating DAILY or less often, without BYHOUR/BYMINUTE/BYSECOND, keeps
    DTSTART's time of day and so yields at most one instance per day."""
    return FREQUENCY_SECONDS[rule["FREQ"][0]] >= FREQUENCY_SECONDS["DAILY"] and not any(
        part in rule for part in ("BYHOUR", "BYMINUTE", "BYSECOND")
    )


def query_span(window: Window) -> tuple[dt.datetime, dt.datetime]:
    """The span handed to the expander: the window widened by the widest UTC offset
    (dates and floating times are only placed in UTC later)."""
    return window.start - _WIDEST_UTC_OFFSET, window.end + _WIDEST_UTC_OFFSET


def bounded_occurrences(
    calendar: icalendar.Calendar, window: Window, item_id: str
) -> Iterator[Occurrence]:
    """Every occurrence overlapping the window, at most MAX_OCCURRENCES_PER_SERIES each.

    Queried a little wider than the window (dates and floating times are only placed in
    UTC later). Rules that may be denser than the cap are queried in doubling slices so
    they stop at the cap early instead of materialising the whole window.
    """
    _check_rule_density(calendar, window, item_id)
    query_start, query_end = query_span(window)
    query_days = (query_end - query_start) / dt.timedelta(days=1) + 1
    first_slice = query_end - query_start if _at_most_daily(calendar, query_days) else _FIRST_SLICE
    try:
        query = recurring_ical_events.of(calendar)
        for series in query.series:
            yield from _occurrences_of_series(series, query_start, query_end, first_slice, item_id)
    except (ValueError, TypeError, OverflowError) as error:  # InvalidCalendar is a ValueError
        raise InvalidSeries(f"{item_id}: cannot expand: {error}") from error


def _occurrences_of_series(
    series: recurring_ical_events.Series,
    query_start: dt.datetime,
    query_end: dt.datetime,
    first_slice: dt.timedelta,
    item_id: str,
) -> list[Occurrence]:
    if first_slice >= query_end - query_start:
        occurrences = list(series.between(query_start, query_end))
    else:
        # An instance overlapping a slice boundary comes back from both slices.
        found: dict[object, Occurrence] = {}
        slice_start, slice_length = query_start, first_slice
        while slice_start < query_end and len(found) <= MAX_OCCURRENCES_PER_SERIES:
            slice_end = min(slice_start + slice_length, query_end)
            for occurrence in series.between(slice_start, slice_end):
                found.setdefault(occurrence.id, occurrence)
            slice_start, slice_length = slice_end, slice_length * 2
        occurrences = list(found.values())
    if len(occurrences) > MAX_OCCURRENCES_PER_SERIES:
        occurrences.sort()
        logger.warning(
            "series %s (%s) has more than %d occurrences in the window; keeping the first %d",
            item_id,
            series.uid,
            MAX_OCCURRENCES_PER_SERIES,
            MAX_OCCURRENCES_PER_SERIES,
        )
        occurrences = occurrences[:MAX_OCCURRENCES_PER_SERIES]
    return occurrences
