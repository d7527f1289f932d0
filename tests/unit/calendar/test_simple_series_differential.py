"""The dateutil fast path (syncd.calendar.simple_series) gives exactly the library's spans.

Every case expands one series twice through ``expand_series``: as it runs (the fast path
where the series has the simple shape) and with the fast path switched off (the
recurring-ical-events path). Both must give the same spans, or both refuse the series.
Cases are generated (rules, DST-crossing zones, DTSTART in a gap or a fold, EXDATEs,
RDATEs, moved and cancelled instances, windows cutting the series) and taken from the
interoperability corpus (tests/corpus/ical). Deterministic: hypothesis is derandomized.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.base import RemoteEvent
from syncd.calendar import expansion
from syncd.calendar.expansion import InvalidSeries, OccurrenceSpan, expand_series

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "ical"
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC")
#: Days on which these zones change their clocks (2026), to start series in gaps and folds.
DST_DAYS = (
    dt.date(2026, 3, 8),
    dt.date(2026, 3, 29),
    dt.date(2026, 4, 5),
    dt.date(2026, 10, 4),
    dt.date(2026, 10, 25),
    dt.date(2026, 11, 1),
)
TIMES = (
    dt.time(0, 0),
    dt.time(1, 30),
    dt.time(1, 45),
    dt.time(2, 0),
    dt.time(2, 15),
    dt.time(2, 30),
    dt.time(9, 0),
    dt.time(23, 30),
)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ACCOUNT_ZONE = "Europe/Berlin"
_calls = {"fast": 0, "all": 0}


def outcome(
    master: RemoteEvent, overrides: list[RemoteEvent], start: dt.datetime, end: dt.datetime
) -> list[OccurrenceSpan] | str:
    try:
        return expand_series(master, overrides, start, end, ACCOUNT_ZONE)
    except InvalidSeries:
        return "InvalidSeries"


def assert_same_on_both_paths(
    master: RemoteEvent, overrides: list[RemoteEvent], start: dt.datetime, end: dt.datetime
) -> None:
    real = expansion.simple_occurrences
    used: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        used.append(found is not None)
        return found

    with mock.patch.object(expansion, "simple_occurrences", spy):
        fast = outcome(master, overrides, start, end)
    with mock.patch.object(expansion, "simple_occurrences", lambda *a, **k: None):
        library = outcome(master, overrides, start, end)
    _calls["all"] += 1
    _calls["fast"] += any(used)
    assert fast == library


# ---------------------------------------------------------------------------
# Generated series
# ---------------------------------------------------------------------------


@st.composite
def rules(draw: st.DrawFn, all_day: bool, first: dt.date | dt.datetime) -> str:
    freq = draw(st.sampled_from(("DAILY", "WEEKLY", "MONTHLY", "YEARLY")))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 3))}")
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        ordinal = draw(st.sampled_from(("1", "2", "3", "-1", "-2")))
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=2, unique=True))
        parts.append("BYDAY=" + ",".join(ordinal + day for day in days))
    elif freq != "DAILY" and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
        if freq == "MONTHLY" and draw(st.booleans()):
            parts.append(f"BYSETPOS={draw(st.sampled_from(('1', '-1', '2')))}")
    elif freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from((1, 15, 29, 31, -1)), min_size=1, max_size=2))
        parts.append("BYMONTHDAY=" + ",".join(map(str, sorted(set(days)))))
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.sampled_from(('3', '10', '3,11')))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(('MO', 'SU')))}")
    parts.extend(draw(rule_ends(all_day, first)))
    return ";".join(parts)


@st.composite
def rule_ends(draw: st.DrawFn, all_day: bool, first: dt.date | dt.datetime) -> list[str]:
    """No end, a COUNT, or an UNTIL as a date, in UTC or on the local wall clock."""
    end_kind = draw(st.sampled_from(("none", "count", "until-date", "until-utc", "until-local")))
    if end_kind == "none":
        return []
    if end_kind == "count":
        return [f"COUNT={draw(st.integers(1, 30))}"]
    until = _as_datetime(first) + dt.timedelta(days=draw(st.integers(-3, 400)))
    if end_kind == "until-date" or all_day:
        text = until.strftime("%Y%m%d")
        if all_day and end_kind == "until-utc":
            text += "T235959Z"
    elif end_kind == "until-utc":
        text = until.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    else:
        text = until.strftime("%Y%m%dT%H%M%S")
    return [f"UNTIL={text}"]


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


def _line(name: str, value: dt.date | dt.datetime, style: str) -> str:
    """An EXDATE/RDATE line for ``value``: as a date, in UTC, or in the value's zone."""
    if not isinstance(value, dt.datetime) or style == "date":
        day = value.date() if isinstance(value, dt.datetime) else value
        return f"{name};VALUE=DATE:{day:%Y%m%d}"
    if style == "utc" or value.tzinfo is None or str(value.tzinfo) == "UTC":
        return f"{name}:{value.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={value.tzinfo}:{value:%Y%m%dT%H%M%S}"


def _instances(rule: str, first: dt.date | dt.datetime) -> list[dt.date | dt.datetime]:
    """The rule's first instances (dateutil), to pick EXDATEs and overrides from."""
    try:
        found = list(itertools.islice(rrulestr(rule, dtstart=_as_datetime(first)), 40))
    except ValueError:
        return []
    if not isinstance(first, dt.datetime):
        return [value.date() for value in found]
    return [value.replace(tzinfo=first.tzinfo) for value in found]


@st.composite
def series(draw: st.DrawFn) -> tuple[RemoteEvent, list[RemoteEvent], dt.datetime, dt.datetime]:
    all_day = draw(st.integers(0, 4)) == 0
    day = draw(st.sampled_from(DST_DAYS)) - dt.timedelta(days=draw(st.integers(0, 40)))
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    if all_day:
        start = day
        end = day + dt.timedelta(days=draw(st.integers(1, 3)))
    else:
        start = dt.datetime.combine(day, draw(st.sampled_from(TIMES)), tzinfo=zone)
        start = start.replace(fold=draw(st.integers(0, 1)))
        minutes = draw(st.sampled_from((0, 30, 60, 90, 25 * 60)))
        end = start + dt.timedelta(minutes=minutes)
    rule = draw(rules(all_day, start))
    instances = _instances(rule, start)
    recurrence = [f"RRULE:{rule}"]
    styles = ("date",) if all_day else ("zone", "utc", "date")
    for _ in range(draw(st.integers(0, 2))):  # EXDATEs of instances, and of no instance
        value = (
            draw(st.sampled_from(instances))
            if instances and draw(st.booleans())
            else start + dt.timedelta(days=draw(st.integers(1, 60)), hours=all_day and 0 or 1)
        )
        recurrence.append(_line("EXDATE", value, draw(st.sampled_from(styles))))
    for _ in range(draw(st.integers(0, 2))):
        value = start + dt.timedelta(days=draw(st.integers(-5, 90)))
        if not all_day:
            value += dt.timedelta(minutes=draw(st.sampled_from((0, 45, -120))))
        recurrence.append(
            _line("RDATE", value, "date" if all_day else draw(st.sampled_from(styles[:2])))
        )
    master = RemoteEvent(
        "master",
        start=start,
        end=end,
        tzid=None if all_day else zone_name,
        all_day=all_day,
        recurrence=recurrence,
        status=draw(st.sampled_from(("confirmed", "tentative"))),
    )
    overrides = []
    for index in range(draw(st.integers(0, 3)) if instances else 0):
        original = draw(st.sampled_from(instances))
        if draw(st.integers(0, 5)) == 0:  # an instance of no rule
            original += dt.timedelta(hours=5) if not all_day else dt.timedelta(days=1)
        if draw(st.booleans()):
            overrides.append(
                RemoteEvent(
                    f"cancelled-{index}",
                    start=original,
                    end=original,
                    all_day=all_day,
                    status="cancelled",
                    original_start=original,
                    recurring_event_id="master",
                )
            )
            continue
        moved = original + dt.timedelta(days=draw(st.integers(-40, 40)))
        length = end - start
        overrides.append(
            RemoteEvent(
                f"moved-{index}",
                start=moved,
                end=moved + length,
                tzid=None if all_day else zone_name,
                all_day=all_day,
                transparency=draw(st.sampled_from(("opaque", "transparent"))),
                original_start=original,
                recurring_event_id="master",
            )
        )
    window_start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(
        days=draw(st.integers(-30, 120)), hours=draw(st.integers(0, 23))
    )
    window_end = window_start + dt.timedelta(days=draw(st.integers(1, 500)))
    return master, overrides, window_start, window_end


@settings(
    max_examples=1500,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(series())
def test_generated_series_expand_the_same_on_both_paths(
    case: tuple[RemoteEvent, list[RemoteEvent], dt.datetime, dt.datetime],
) -> None:
    assert_same_on_both_paths(*case)


def _ical_time(name: str, value: dt.date | dt.datetime) -> str:
    if not isinstance(value, dt.datetime):
        return f"{name};VALUE=DATE:{value:%Y%m%d}"
    if str(value.tzinfo) == "UTC":
        return f"{name}:{value:%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={value.tzinfo}:{value:%Y%m%dT%H%M%S}"


def as_caldav_item(master: RemoteEvent, overrides: list[RemoteEvent]) -> RemoteEvent:
    """The same series as a CalDAV resource: one VEVENT per item, overrides by RECURRENCE-ID."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for item in [master, *[o for o in overrides if o.original_start is not None]]:
        lines += ["BEGIN:VEVENT", "UID:series@example.com"]
        if item.original_start is not None:
            lines.append(_ical_time("RECURRENCE-ID", item.original_start))
        lines += [_ical_time("DTSTART", item.start), _ical_time("DTEND", item.end)]
        lines += [f"STATUS:{item.status.upper()}", f"TRANSP:{item.transparency.upper()}"]
        lines += item.recurrence
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    text = "\r\n".join(lines) + "\r\n"
    return RemoteEvent(
        "caldav-item",
        start=master.start,
        end=master.end,
        tzid=master.tzid,
        all_day=master.all_day,
        recurrence=master.recurrence,
        ical=text,
        extra={"icalendar": icalendar.Calendar.from_ical(text)},
    )


@settings(
    max_examples=700,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(series())
def test_generated_caldav_series_expand_the_same_on_both_paths(
    case: tuple[RemoteEvent, list[RemoteEvent], dt.datetime, dt.datetime],
) -> None:
    master, overrides, start, end = case
    assert_same_on_both_paths(as_caldav_item(master, overrides), [], start, end)


def test_most_generated_series_take_the_fast_path() -> None:
    """The differential above is not vacuous: the fast path answered most cases."""
    if _calls["all"] < 100:
        pytest.skip("runs after the generated differential")
    assert _calls["fast"] > _calls["all"] * 0.7


# ---------------------------------------------------------------------------
# Real-world shapes: the interoperability corpus, as recurrence lines
# ---------------------------------------------------------------------------


def _corpus_series() -> list[tuple[str, RemoteEvent, list[RemoteEvent]]]:
    found = []
    for path in sorted(CORPUS.rglob("*.ics")):
        calendar = icalendar.Calendar.from_ical(path.read_text(encoding="utf-8"))
        events = list(calendar.walk("VEVENT"))
        for master in (event for event in events if "RRULE" in event):
            if "RECURRENCE-ID" in master:
                continue
            start, end = master.start, master.end
            if isinstance(start, dt.datetime) and start.tzinfo is None:
                continue  # floating: Google-style items always carry a zone
            lines = [
                line
                for line in master.to_ical().decode().replace("\r\n ", "").split("\r\n")
                if line.split(":")[0].split(";")[0] in ("RRULE", "EXDATE", "RDATE")
            ]
            all_day = not isinstance(start, dt.datetime)
            overrides = [
                RemoteEvent(
                    f"override-{index}",
                    start=event.start,
                    end=event.end,
                    all_day=all_day,
                    status="cancelled" if event.get("STATUS") == "CANCELLED" else "confirmed",
                    original_start=event["RECURRENCE-ID"].dt,
                    recurring_event_id="master",
                )
                for index, event in enumerate(events)
                if "RECURRENCE-ID" in event and event.get("UID") == master.get("UID")
            ]
            remote = RemoteEvent(
                "master",
                start=start,
                end=end,
                tzid=getattr(start.tzinfo, "key", None) if not all_day else None,
                all_day=all_day,
                recurrence=lines,
            )
            found.append((str(path.relative_to(CORPUS)), remote, overrides))
    return found


@pytest.mark.parametrize(
    ("name", "master", "overrides"), _corpus_series(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_corpus_series_expand_the_same_on_both_paths(
    name: str, master: RemoteEvent, overrides: list[RemoteEvent]
) -> None:
    first = (
        master.start
        if isinstance(master.start, dt.datetime)
        else dt.datetime.combine(master.start, dt.time(), tzinfo=dt.UTC)
    )
    for days_before, days in ((1, 400), (-2, 10), (30, 90)):
        start = first - dt.timedelta(days=days_before)
        assert_same_on_both_paths(master, overrides, start, start + dt.timedelta(days=days))


@pytest.mark.parametrize(
    "path", sorted(CORPUS.rglob("*.ics")), ids=lambda p: str(p.relative_to(CORPUS))
)
def test_corpus_items_expand_the_same_on_both_paths(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    item = RemoteEvent(
        "corpus-item",
        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        end=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ical=text,
        recurrence=["RRULE:FREQ=DAILY"],  # not a single event: expand the text
    )
    for year in (2019, 2023, 2025, 2026):
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        assert_same_on_both_paths(item, [], start, start + dt.timedelta(days=490))


def test_the_bench_shape_takes_the_fast_path() -> None:
    """A weekly Europe/Berlin series of ten (the sync benchmark's) skips the library."""
    zone = ZoneInfo("Europe/Berlin")
    master = RemoteEvent(
        "weekly",
        start=dt.datetime(2026, 3, 2, 9, tzinfo=zone),
        end=dt.datetime(2026, 3, 2, 10, tzinfo=zone),
        tzid="Europe/Berlin",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=10"],
    )
    with mock.patch.object(
        expansion, "bounded_occurrences", side_effect=AssertionError("library path")
    ):
        spans = expand_series(
            master,
            [],
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        )
    assert [span.start_text for span in spans][:5] == [
        "2026-03-02T08:00:00Z",
        "2026-03-09T08:00:00Z",
        "2026-03-16T08:00:00Z",
        "2026-03-23T08:00:00Z",
        "2026-03-30T07:00:00Z",
    ]
