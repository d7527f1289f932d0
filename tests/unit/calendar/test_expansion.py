"""Series expansion: what busy spans a stored provider item produces in a window."""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events

from providers.base import RemoteEvent
from syncd.calendar import expansion
from syncd.calendar.bounds import MAX_OCCURRENCES_PER_SERIES
from syncd.calendar.expansion import (
    InvalidSeries,
    OccurrenceSpan,
    expand_series,
    free_busy_status,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def london(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=LONDON)


def starts(spans: list[OccurrenceSpan]) -> list[str]:
    return [span.start_text for span in spans]


def weekly_london_9am(first_day: dt.date, **fields: object) -> RemoteEvent:
    """A weekly 09:00-10:00 Europe/London meeting starting on ``first_day``."""
    start = dt.datetime.combine(first_day, dt.time(9), tzinfo=LONDON)
    defaults: dict[str, object] = {
        "tzid": "Europe/London",
        "recurrence": ["RRULE:FREQ=WEEKLY"],
    }
    return RemoteEvent(
        "series-1", start=start, end=start + dt.timedelta(hours=1), **(defaults | fields)
    )


def daily_london_9am(*recurrence: str, **fields: object) -> RemoteEvent:
    """A daily 09:00-10:00 Europe/London meeting from Monday 2026-03-02."""
    return RemoteEvent(
        "daily-1",
        start=london(2026, 3, 2, 9),
        end=london(2026, 3, 2, 10),
        tzid="Europe/London",
        recurrence=list(recurrence),
        **fields,
    )


MARCH = (utc(2026, 3, 1), utc(2026, 4, 1))


# ---------------------------------------------------------------------------
# Single events
# ---------------------------------------------------------------------------


def test_single_timed_event_is_one_span_in_utc() -> None:
    event = RemoteEvent(
        "evt-1", start=london(2026, 6, 10, 14), end=london(2026, 6, 10, 15), tzid="Europe/London"
    )

    spans = expand_series(event, [], utc(2026, 6, 1), utc(2026, 7, 1))

    assert spans == [
        OccurrenceSpan(
            start_utc=utc(2026, 6, 10, 13),
            end_utc=utc(2026, 6, 10, 14),
            all_day=False,
            start_text="2026-06-10T13:00:00Z",
            end_text="2026-06-10T14:00:00Z",
            free_busy_status="busy",
            source_event_id="evt-1",
        )
    ]


def test_single_all_day_event_is_the_local_day_of_the_account_zone() -> None:
    # 2026-03-29 is the day London springs forward: the local day lasts 23 hours.
    event = RemoteEvent("day-1", start=dt.date(2026, 3, 29), end=dt.date(2026, 3, 30), all_day=True)

    [span] = expand_series(event, [], *MARCH, default_tz="Europe/London")

    assert (span.start_utc, span.end_utc) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))
    assert (span.start_text, span.end_text) == ("2026-03-29", "2026-03-30")
    assert span.all_day


def test_all_day_event_west_of_utc_is_not_utc_midnight() -> None:
    event = RemoteEvent("day-2", start=dt.date(2026, 7, 4), end=dt.date(2026, 7, 5), all_day=True)

    [span] = expand_series(
        event, [], utc(2026, 7, 1), utc(2026, 8, 1), default_tz="America/New_York"
    )

    assert (span.start_utc, span.end_utc) == (utc(2026, 7, 4, 4), utc(2026, 7, 5, 4))


def test_floating_time_is_read_in_the_account_zone() -> None:
    event = RemoteEvent(
        "floating-1", start=dt.datetime(2026, 7, 1, 9), end=dt.datetime(2026, 7, 1, 10)
    )

    [span] = expand_series(
        event, [], utc(2026, 7, 1), utc(2026, 7, 2), default_tz="America/New_York"
    )

    assert span.start_text == "2026-07-01T13:00:00Z"


def test_single_event_does_not_go_through_the_recurrence_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("single events must take the fast path")

    monkeypatch.setattr(recurring_ical_events, "of", fail)
    event = RemoteEvent("evt-2", start=utc(2026, 3, 5, 9), end=utc(2026, 3, 5, 10))

    assert len(expand_series(event, [], *MARCH)) == 1


def test_cancelled_single_event_has_no_span() -> None:
    event = RemoteEvent(
        "evt-3", start=utc(2026, 3, 5, 9), end=utc(2026, 3, 5, 10), status="cancelled"
    )

    assert expand_series(event, [], *MARCH) == []


# ---------------------------------------------------------------------------
# Recurring series and daylight-saving time
# ---------------------------------------------------------------------------


def test_weekly_london_series_keeps_local_time_across_spring_change() -> None:
    series = weekly_london_9am(dt.date(2026, 3, 16))

    spans = expand_series(series, [], utc(2026, 3, 16), utc(2026, 4, 7))

    assert starts(spans) == [
        "2026-03-16T09:00:00Z",
        "2026-03-23T09:00:00Z",
        "2026-03-30T08:00:00Z",
        "2026-04-06T08:00:00Z",
    ]
    assert all(span.end_utc - span.start_utc == dt.timedelta(hours=1) for span in spans)


def test_weekly_london_series_keeps_local_time_across_autumn_change() -> None:
    series = weekly_london_9am(dt.date(2026, 10, 19))

    spans = expand_series(series, [], utc(2026, 10, 19), utc(2026, 11, 3))

    assert starts(spans) == [
        "2026-10-19T08:00:00Z",
        "2026-10-26T09:00:00Z",
        "2026-11-02T09:00:00Z",
    ]


def test_new_york_series_keeps_local_time_across_both_changes() -> None:
    start = dt.datetime(2026, 3, 3, 10, tzinfo=NEW_YORK)  # a Tuesday
    series = RemoteEvent(
        "ny-1",
        start=start,
        end=start + dt.timedelta(minutes=30),
        tzid="America/New_York",
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TU"],
    )

    spring = expand_series(series, [], utc(2026, 3, 1), utc(2026, 3, 12))
    autumn = expand_series(series, [], utc(2026, 10, 26), utc(2026, 11, 5))

    assert starts(spring) == ["2026-03-03T15:00:00Z", "2026-03-10T14:00:00Z"]
    assert starts(autumn) == ["2026-10-27T14:00:00Z", "2026-11-03T15:00:00Z"]


def test_series_given_in_utc_with_a_tzid_repeats_in_the_tzid() -> None:
    # Google sends dateTime "2026-03-16T09:00:00Z" with timeZone "Europe/London".
    series = RemoteEvent(
        "utc-start",
        start=utc(2026, 3, 16, 9),
        end=utc(2026, 3, 16, 10),
        tzid="Europe/London",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
    )

    spans = expand_series(series, [], *MARCH)

    assert starts(spans) == [
        "2026-03-16T09:00:00Z",
        "2026-03-23T09:00:00Z",
        "2026-03-30T08:00:00Z",
    ]


def test_series_expands_in_its_own_zone_not_the_account_zone() -> None:
    series = weekly_london_9am(dt.date(2026, 3, 23))

    spans = expand_series(
        series, [], utc(2026, 3, 23), utc(2026, 4, 1), default_tz="America/New_York"
    )

    assert starts(spans) == ["2026-03-23T09:00:00Z", "2026-03-30T08:00:00Z"]


def test_all_day_series_gives_local_days_in_the_account_zone() -> None:
    series = RemoteEvent(
        "days-1",
        start=dt.date(2026, 3, 28),
        end=dt.date(2026, 3, 29),
        all_day=True,
        recurrence=["RRULE:FREQ=DAILY;COUNT=2"],
    )

    spans = expand_series(series, [], *MARCH, default_tz="Europe/London")

    assert [(s.start_text, s.end_text) for s in spans] == [
        ("2026-03-28", "2026-03-29"),
        ("2026-03-29", "2026-03-30"),
    ]
    assert [s.end_utc - s.start_utc for s in spans] == [
        dt.timedelta(hours=24),
        dt.timedelta(hours=23),
    ]


def test_exdate_removes_an_instance() -> None:
    series = daily_london_9am(
        "RRULE:FREQ=DAILY;COUNT=5", "EXDATE;TZID=Europe/London:20260303T090000"
    )

    spans = expand_series(series, [], *MARCH)

    assert [s.start_utc.day for s in spans] == [2, 4, 5, 6]


def test_exdate_given_in_utc_removes_the_same_instance() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260303T090000Z")

    assert [s.start_utc.day for s in expand_series(series, [], *MARCH)] == [2, 4]


def test_rdate_adds_an_instance() -> None:
    series = daily_london_9am(
        "RRULE:FREQ=DAILY;COUNT=2", "RDATE;TZID=Europe/London:20260310T090000"
    )

    assert [s.start_utc.day for s in expand_series(series, [], *MARCH)] == [2, 3, 10]


def test_count_rule_stops_after_count_instances() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=3")

    assert len(expand_series(series, [], utc(2026, 1, 1), utc(2027, 1, 1))) == 3


def test_until_rule_includes_the_instance_at_until() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;UNTIL=20260305T090000Z")

    spans = expand_series(series, [], utc(2026, 1, 1), utc(2027, 1, 1))

    assert [s.start_utc.day for s in spans] == [2, 3, 4, 5]


def test_until_as_a_date_on_an_all_day_series() -> None:
    series = RemoteEvent(
        "days-2",
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 3),
        all_day=True,
        recurrence=["RRULE:FREQ=DAILY;UNTIL=20260304"],
    )

    assert starts(expand_series(series, [], *MARCH)) == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]


# ---------------------------------------------------------------------------
# Overrides: modified, cancelled, orphaned instances
# ---------------------------------------------------------------------------


def test_modified_instance_replaces_the_original() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=3")
    moved = RemoteEvent(
        "daily-1_20260303T090000Z",
        start=london(2026, 3, 3, 14),
        end=london(2026, 3, 3, 15, 30),
        tzid="Europe/London",
        recurring_event_id="daily-1",
        original_start=london(2026, 3, 3, 9),
    )

    spans = expand_series(series, [moved], *MARCH)

    assert [(s.start_text, s.end_text, s.source_event_id) for s in spans] == [
        ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", "daily-1"),
        ("2026-03-03T14:00:00Z", "2026-03-03T15:30:00Z", "daily-1_20260303T090000Z"),
        ("2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", "daily-1"),
    ]


def test_instance_moved_outside_the_window_leaves_the_window() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=3")
    moved = RemoteEvent(
        "daily-1_20260303T090000Z",
        start=london(2026, 5, 1, 9),
        end=london(2026, 5, 1, 10),
        recurring_event_id="daily-1",
        original_start=utc(2026, 3, 3, 9),
    )

    spans = expand_series(series, [moved], *MARCH)

    assert [s.start_utc.day for s in spans] == [2, 4]


def test_cancelled_instance_removes_it() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=3")
    cancelled = RemoteEvent(
        "daily-1_20260303T090000Z",
        start=london(2026, 3, 3, 9),
        end=london(2026, 3, 3, 10),
        status="cancelled",
        recurring_event_id="daily-1",
        original_start=london(2026, 3, 3, 9),
    )

    spans = expand_series(series, [cancelled], *MARCH)

    assert [s.start_utc.day for s in spans] == [2, 4]


def test_cancelled_all_day_instance_removes_it() -> None:
    series = RemoteEvent(
        "days-3",
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 3),
        all_day=True,
        recurrence=["RRULE:FREQ=DAILY;COUNT=3"],
    )
    cancelled = RemoteEvent(
        "days-3_20260303",
        start=dt.date(2026, 3, 3),
        end=dt.date(2026, 3, 4),
        all_day=True,
        status="cancelled",
        original_start=dt.date(2026, 3, 3),
    )

    assert starts(expand_series(series, [cancelled], *MARCH)) == ["2026-03-02", "2026-03-04"]


def test_override_without_master_becomes_its_own_span() -> None:
    orphan = RemoteEvent(
        "gone_20260303T090000Z",
        start=london(2026, 3, 3, 11),
        end=london(2026, 3, 3, 12),
        tzid="Europe/London",
        recurring_event_id="gone",
        original_start=london(2026, 3, 3, 9),
    )
    cancelled_orphan = RemoteEvent(
        "gone_20260304T090000Z",
        start=london(2026, 3, 4, 9),
        end=london(2026, 3, 4, 10),
        status="cancelled",
        recurring_event_id="gone",
        original_start=london(2026, 3, 4, 9),
    )

    spans = expand_series(None, [orphan, cancelled_orphan], *MARCH)

    assert [(s.start_text, s.source_event_id) for s in spans] == [
        ("2026-03-03T11:00:00Z", "gone_20260303T090000Z")
    ]


# ---------------------------------------------------------------------------
# Free/busy status
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "busy"),
        ({"participation_status": "accepted"}, "busy"),
        ({"participation_status": "needs_action"}, "busy"),
        ({"transparency": "transparent"}, "free"),
        ({"participation_status": "declined"}, "free"),
        ({"status": "cancelled"}, "free"),
        ({"status": "tentative"}, "tentative"),
        ({"participation_status": "tentative"}, "tentative"),
        ({"status": "tentative", "transparency": "transparent"}, "free"),
        ({"status": "tentative", "participation_status": "declined"}, "free"),
    ],
)
def test_free_busy_status_of_an_event(fields: dict[str, str], expected: str) -> None:
    event = RemoteEvent("evt", start=utc(2026, 3, 5, 9), end=utc(2026, 3, 5, 10), **fields)

    assert free_busy_status(event) == expected


def test_transparent_event_gives_a_free_span() -> None:
    event = RemoteEvent(
        "evt-4", start=utc(2026, 3, 5, 9), end=utc(2026, 3, 5, 10), transparency="transparent"
    )

    assert [s.free_busy_status for s in expand_series(event, [], *MARCH)] == ["free"]


def test_declined_series_gives_free_spans() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=2", participation_status="declined")

    assert [s.free_busy_status for s in expand_series(series, [], *MARCH)] == ["free", "free"]


def test_tentative_event_gives_a_tentative_span() -> None:
    event = RemoteEvent(
        "evt-5", start=utc(2026, 3, 5, 9), end=utc(2026, 3, 5, 10), status="tentative"
    )

    assert [s.free_busy_status for s in expand_series(event, [], *MARCH)] == ["tentative"]


def test_override_status_applies_to_its_instance_only() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY;COUNT=3")
    declined_once = RemoteEvent(
        "daily-1_20260303T090000Z",
        start=london(2026, 3, 3, 9),
        end=london(2026, 3, 3, 10),
        participation_status="declined",
        original_start=london(2026, 3, 3, 9),
    )

    spans = expand_series(series, [declined_once], *MARCH)

    assert [s.free_busy_status for s in spans] == ["busy", "free", "busy"]


# ---------------------------------------------------------------------------
# Window bounds
# ---------------------------------------------------------------------------


def test_infinite_rule_is_bounded_by_the_window() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY")

    spans = expand_series(series, [], utc(2026, 6, 1), utc(2026, 6, 11))

    assert starts(spans)[0] == "2026-06-01T08:00:00Z"
    assert starts(spans)[-1] == "2026-06-10T08:00:00Z"
    assert len(spans) == 10


def test_span_overlapping_the_window_start_is_included() -> None:
    event = RemoteEvent("evt-6", start=utc(2026, 3, 4, 23), end=utc(2026, 3, 5, 1))

    assert len(expand_series(event, [], utc(2026, 3, 5), utc(2026, 3, 6))) == 1


def test_span_ending_at_the_window_start_is_excluded() -> None:
    event = RemoteEvent("evt-7", start=utc(2026, 3, 4, 23), end=utc(2026, 3, 5))

    assert expand_series(event, [], utc(2026, 3, 5), utc(2026, 3, 6)) == []


def test_span_starting_at_the_window_end_is_excluded() -> None:
    event = RemoteEvent("evt-8", start=utc(2026, 3, 6), end=utc(2026, 3, 6, 1))

    assert expand_series(event, [], utc(2026, 3, 5), utc(2026, 3, 6)) == []


def test_zero_length_span_at_the_window_start_is_included() -> None:
    event = RemoteEvent("evt-9", start=utc(2026, 3, 5), end=utc(2026, 3, 5))

    assert len(expand_series(event, [], utc(2026, 3, 5), utc(2026, 3, 6))) == 1


def test_all_day_event_is_windowed_by_its_local_day() -> None:
    # 2026-03-05 in New York is 05:00Z..05:00Z next day: it misses a window ending 05:00Z.
    event = RemoteEvent("day-4", start=dt.date(2026, 3, 5), end=dt.date(2026, 3, 6), all_day=True)

    spans = expand_series(
        event, [], utc(2026, 3, 4), utc(2026, 3, 5, 5), default_tz="America/New_York"
    )

    assert spans == []


def test_recurring_all_day_instances_are_windowed_by_their_local_day() -> None:
    series = RemoteEvent(
        "days-5",
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 3),
        all_day=True,
        recurrence=["RRULE:FREQ=DAILY"],
    )

    spans = expand_series(
        series, [], utc(2026, 3, 5, 5), utc(2026, 3, 6, 5), default_tz="America/New_York"
    )

    assert starts(spans) == ["2026-03-05"]


def test_naive_window_is_rejected() -> None:
    event = RemoteEvent("evt-10", start=utc(2026, 3, 5), end=utc(2026, 3, 5, 1))

    with pytest.raises(ValueError, match="timezone-aware"):
        expand_series(event, [], dt.datetime(2026, 3, 1), dt.datetime(2026, 4, 1))


# ---------------------------------------------------------------------------
# CalDAV iCalendar text
# ---------------------------------------------------------------------------

# A custom TZID (not an IANA name) so the VTIMEZONE block itself must be used.
CALDAV_SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//syncd//EN
BEGIN:VTIMEZONE
TZID:UK time
BEGIN:STANDARD
DTSTART:19701025T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
TZNAME:GMT
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T010000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
TZNAME:BST
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:caldav-series@example.com
DTSTAMP:20260101T000000Z
DTSTART;TZID=UK time:20260316T090000
DTEND;TZID=UK time:20260316T100000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:caldav-series@example.com
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=UK time:20260323T090000
DTSTART;TZID=UK time:20260323T130000
DTEND;TZID=UK time:20260323T140000
TRANSP:TRANSPARENT
SUMMARY:Standup (moved)
END:VEVENT
BEGIN:VEVENT
UID:caldav-series@example.com
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=UK time:20260330T090000
DTSTART;TZID=UK time:20260330T090000
DTEND;TZID=UK time:20260330T100000
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def caldav_item(ical: str, **fields: object) -> RemoteEvent:
    """A CalDAV resource as the adapter hands it over: the whole text in ``ical``."""
    return RemoteEvent(
        "/cal/work/caldav-series.ics",
        start=utc(2026, 3, 16),
        end=utc(2026, 3, 16),
        ical=ical,
        **fields,
    )


def test_caldav_text_expands_with_its_vtimezone_and_overrides() -> None:
    spans = expand_series(caldav_item(CALDAV_SERIES), [], *MARCH, default_tz="Europe/London")

    assert [(s.start_text, s.free_busy_status) for s in spans] == [
        ("2026-03-16T09:00:00Z", "busy"),
        ("2026-03-23T13:00:00Z", "free"),  # moved and transparent; 2026-03-30 is cancelled
    ]
    assert [s.source_event_id for s in spans] == ["/cal/work/caldav-series.ics"] * 2


def test_caldav_text_keeps_summer_instances_at_local_time() -> None:
    spans = expand_series(
        caldav_item(CALDAV_SERIES), [], utc(2026, 4, 1), utc(2026, 5, 1), default_tz="Etc/UTC"
    )

    assert starts(spans) == ["2026-04-06T08:00:00Z"]


def test_caldav_participation_applies_to_every_instance() -> None:
    spans = expand_series(caldav_item(CALDAV_SERIES, participation_status="declined"), [], *MARCH)

    assert {s.free_busy_status for s in spans} == {"free"}


def test_caldav_floating_times_use_x_wr_timezone() -> None:
    ical = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "X-WR-TIMEZONE:America/New_York\r\n"
        "BEGIN:VEVENT\r\nUID:f1\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260305T090000\r\nDTEND:20260305T100000\r\n"
        "RRULE:FREQ=DAILY;COUNT=1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    spans = expand_series(caldav_item(ical), [], *MARCH, default_tz="Europe/London")

    assert starts(spans) == ["2026-03-05T14:00:00Z"]


def test_caldav_single_event_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("non-recurring CalDAV items must not use the recurrence engine")

    monkeypatch.setattr(recurring_ical_events, "of", fail)
    ical = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:s1\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;VALUE=DATE:20260305\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    # The adapter hands over the fields it parsed from this text; the engine trusts them.
    item = caldav_item(ical, all_day=True)
    item.start, item.end = dt.date(2026, 3, 5), dt.date(2026, 3, 6)

    spans = expand_series(item, [], *MARCH, default_tz="Europe/London")

    assert [(s.start_text, s.end_text, s.all_day) for s in spans] == [
        ("2026-03-05", "2026-03-06", True)
    ]


# ---------------------------------------------------------------------------
# Malformed and pathological input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "RRULE:FREQ=FORTNIGHTLY",
        "RRULE:FREQ=DAILY;INTERVAL=0",
        "RRULE:COUNT=3",
        "RRULE:FREQ=DAILY;COUNT=many",
        "RRULE:garbage",
    ],
)
def test_malformed_rrule_raises_invalid_series(rule: str) -> None:
    with pytest.raises(InvalidSeries):
        expand_series(daily_london_9am(rule), [], *MARCH)


def test_unsupported_recurrence_line_raises_invalid_series() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY", "EXRULE:FREQ=WEEKLY")

    with pytest.raises(InvalidSeries):
        expand_series(series, [], *MARCH)


def test_unparsable_ical_text_raises_invalid_series() -> None:
    with pytest.raises(InvalidSeries):
        expand_series(caldav_item("this is not iCalendar"), [], *MARCH)


def test_ical_with_a_broken_rrule_raises_invalid_series() -> None:
    broken = CALDAV_SERIES.replace("RRULE:FREQ=WEEKLY;COUNT=4", "RRULE:FREQ=SOMETIMES")

    with pytest.raises(InvalidSeries):
        expand_series(caldav_item(broken), [], *MARCH)


def test_single_event_ending_before_it_starts_raises_invalid_series() -> None:
    event = RemoteEvent("evt-11", start=utc(2026, 3, 5, 10), end=utc(2026, 3, 5, 9))

    with pytest.raises(InvalidSeries):
        expand_series(event, [], *MARCH)


def test_unknown_account_zone_is_a_caller_error_not_invalid_series() -> None:
    event = RemoteEvent("evt-12", start=utc(2026, 3, 5), end=utc(2026, 3, 5, 1))

    with pytest.raises(ValueError, match="unknown time zone") as raised:
        expand_series(event, [], *MARCH, default_tz="Mars/Olympus_Mons")

    assert not isinstance(raised.value, InvalidSeries)


def test_invalid_series_is_a_value_error() -> None:
    assert issubclass(InvalidSeries, ValueError)


def test_pathological_rule_is_capped_at_the_earliest_occurrences(
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = utc(2026, 3, 5, 9)
    series = RemoteEvent(
        "every-second",
        start=start,
        end=start + dt.timedelta(seconds=1),
        tzid="Etc/UTC",
        recurrence=["RRULE:FREQ=SECONDLY"],
    )

    with caplog.at_level(logging.WARNING, logger=expansion.__name__):
        spans = expand_series(series, [], *MARCH)

    assert len(spans) == MAX_OCCURRENCES_PER_SERIES
    assert spans[0].start_utc == start
    assert spans[-1].start_utc == start + dt.timedelta(seconds=MAX_OCCURRENCES_PER_SERIES - 1)
    assert "every-second" in caplog.text


def test_dense_rule_started_long_before_the_window_raises_invalid_series() -> None:
    start = utc(2025, 1, 1)
    series = RemoteEvent(
        "every-second-since-2025",
        start=start,
        end=start + dt.timedelta(seconds=1),
        recurrence=["RRULE:FREQ=SECONDLY"],
    )

    with pytest.raises(InvalidSeries, match="steps before the window"):
        expand_series(series, [], *MARCH)


def test_daily_series_over_490_days_expands_quickly() -> None:
    series = daily_london_9am("RRULE:FREQ=DAILY")
    window_start = utc(2026, 3, 2)
    window_end = window_start + dt.timedelta(days=490)

    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        spans = expand_series(series, [], window_start, window_end)
        best = min(best, time.perf_counter() - began)

    assert len(spans) == 490
    assert best < 0.1  # ~10 ms here; an accidental per-instance re-expansion is seconds
