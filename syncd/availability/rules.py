"""Weekly availability rules (Cronofy "managed availability"), turned into instants.

A rule is a time zone and weekly periods (``monday 09:00–12:00``, a day may appear more
than once). Its meaning is the wall clock: an instant is inside the rule when the local
date and time in the rule's zone, at that instant, fall inside one of the periods. So a
09:00–17:00 rule keeps following the local clock across daylight-saving changes; on a
spring-forward night a period inside the skipped hour covers nothing, and on a
fall-back night an hour the clock shows twice is inside the rule both times.

This is pure computation (no I/O): the zone's offset changes are found by probing
``zoneinfo`` and the rule is evaluated on each stretch of constant offset, where local
time is UTC plus a fixed amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncd.availability.intervals import Span, merge_intervals

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MINUTE_US = 60_000_000
_DAY_US = MINUTES_PER_DAY * _MINUTE_US
#: Offset changes are looked for at this spacing; two changes closer than this
#: (none exists in the tz database) would be seen as one.
_PROBE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class WeeklyPeriod:
    """``day`` from ``start_minute`` to ``end_minute`` (minutes after local midnight;
    ``end_minute`` may be 1440, the end of the day)."""

    day: str
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if self.day not in WEEKDAYS:
            raise ValueError(f"unknown day: {self.day!r}")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError("a weekly period must start before it ends, within one day")


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """An availability rule: weekly periods read on the wall clock of ``tzid``."""

    tzid: str
    periods: Sequence[WeeklyPeriod]

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", tuple(self.periods))
        zone_for(self.tzid)


def zone_for(tzid: str) -> ZoneInfo:
    """The zone named ``tzid``; ``ValueError`` for a name the tz database does not know."""
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {tzid!r}") from error


def parse_clock(text: str, *, allow_end_of_day: bool = False) -> int:
    """``"09:30"`` → 570 minutes; ``"24:00"`` only where the end of a day is meant."""
    hours, sep, minutes = text.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and (hours + minutes).isdigit()):
        raise ValueError(f"not an HH:MM time: {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        raise ValueError(f"not a time of day: {text!r}")
    if value == MINUTES_PER_DAY and not allow_end_of_day:
        raise ValueError("24:00 may only end a period")
    return value


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def rule_spans(rules: Iterable[WeeklyRule], start: datetime, end: datetime) -> list[Span]:
    """Where any of ``rules`` is open within ``[start, end)``, as microsecond spans
    (since the Unix epoch, UTC), merged."""
    window = (_micros(start), _micros(end))
    spans: list[Span] = []
    for rule in rules:
        spans.extend(_one_rule(rule, window))
    return merge_intervals(spans)


def _one_rule(rule: WeeklyRule, window: Span) -> list[Span]:
    zone = zone_for(rule.tzid)
    by_day: dict[int, list[tuple[int, int]]] = {}
    for period in rule.periods:
        by_day.setdefault(WEEKDAYS.index(period.day), []).append(
            (period.start_minute * _MINUTE_US, period.end_minute * _MINUTE_US)
        )
    spans: list[Span] = []
    for segment_start, segment_end, offset in _constant_offsets(zone, window):
        # Local time on this stretch is UTC + offset: evaluate the rule in local
        # microseconds, then shift back.
        local_start, local_end = segment_start + offset, segment_end + offset
        first_day = local_start // _DAY_US
        last_day = (local_end - 1) // _DAY_US
        for day_number in range(first_day, last_day + 1):
            weekday = (date(1970, 1, 1) + timedelta(days=day_number)).weekday()
            midnight = day_number * _DAY_US
            for period_start, period_end in by_day.get(weekday, ()):
                lo = max(midnight + period_start, local_start)
                hi = min(midnight + period_end, local_end)
                if lo < hi:
                    spans.append((lo - offset, hi - offset))
    return spans


def _constant_offsets(zone: ZoneInfo, window: Span) -> list[tuple[int, int, int]]:
    """``(start, end, utc_offset)`` stretches covering ``window``, all in microseconds."""
    start, end = window
    if start >= end:
        return []
    probe = _micros_delta(_PROBE)
    stretches: list[tuple[int, int, int]] = []
    stretch_start, offset = start, _offset_at(zone, start)
    cursor = start  # invariant: ``cursor`` has ``offset``
    while True:
        # Probe the next point that is still inside the window.
        probe_at = min(cursor + probe, end - 1)
        if _offset_at(zone, probe_at) == offset:
            if probe_at == end - 1:
                break
            cursor = probe_at
            continue
        change = _first_change(zone, cursor, probe_at, offset)
        stretches.append((stretch_start, change, offset))
        stretch_start, offset, cursor = change, _offset_at(zone, change), change
    stretches.append((stretch_start, end, offset))
    return stretches


def _first_change(zone: ZoneInfo, low: int, high: int, offset: int) -> int:
    """The first microsecond in ``(low, high]`` whose offset differs from ``offset``,
    by bisection (``low`` has ``offset``, ``high`` does not)."""
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(zone, middle) == offset:
            low = middle
        else:
            high = middle
    return high


def _offset_at(zone: ZoneInfo, micros: int) -> int:
    moment = _EPOCH + timedelta(microseconds=micros)
    utcoffset = moment.astimezone(zone).utcoffset()
    assert utcoffset is not None
    return _micros_delta(utcoffset)


def _micros(moment: datetime) -> int:
    return (moment.astimezone(UTC) - _EPOCH) // _MICROSECOND


def _micros_delta(delta: timedelta) -> int:
    return delta // _MICROSECOND
