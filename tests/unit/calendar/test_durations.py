"""Issue 15, defect 9: DURATION hours/minutes/seconds are exact, days and weeks nominal.

``PT23H`` from 15:00 America/New_York on the Saturday before the spring change ends 23
elapsed hours later (15:00 EDT on Sunday), not at 14:00 (22 h, wall-clock arithmetic).
"""

from __future__ import annotations

import datetime as dt

import pytest

from providers.caldav.ical import remote_event_from_ical
from syncd.calendar.expansion import expand_series

NEW_YORK_VTIMEZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"
    "BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"
    "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"
    "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)
#: The Saturday before the US spring change of 2027 (Sunday 14 March).
SATURDAY = "20270313T150000"
WINDOW = (dt.datetime(2027, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 6, 1, tzinfo=dt.UTC))


def _object(duration: str, rrule: str | None = None) -> str:
    rule = f"RRULE:{rrule}\r\n" if rrule else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
        + NEW_YORK_VTIMEZONE
        + "BEGIN:VEVENT\r\nUID:duration\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART;TZID=America/New_York:{SATURDAY}\r\nDURATION:{duration}\r\n{rule}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _elapsed(duration: str, rrule: str | None = None) -> list[dt.timedelta]:
    event = remote_event_from_ical("/c/duration.ics", '"1"', _object(duration, rrule))
    assert event is not None
    spans = expand_series(event, [], *WINDOW, default_tz="America/New_York")
    return [span.end_utc - span.start_utc for span in spans]


@pytest.mark.parametrize(
    ("duration", "hours"),
    [("PT23H", 23), ("PT1380M", 23), ("PT82800S", 23), ("P1D", 23), ("P1DT1H", 24)],
)
def test_a_single_event_s_duration_follows_rfc_5545(duration: str, hours: int) -> None:
    assert _elapsed(duration) == [dt.timedelta(hours=hours)]


def test_the_adapter_s_end_of_a_single_event_is_exact() -> None:
    event = remote_event_from_ical("/c/duration.ics", '"1"', _object("PT23H"))
    assert event is not None and isinstance(event.end, dt.datetime)
    assert event.end.astimezone(dt.UTC) - event.start.astimezone(dt.UTC) == dt.timedelta(hours=23)


def test_recurring_instances_follow_rfc_5545_too() -> None:
    # The first instance crosses the change (exact: 23 h); the second does not.
    assert _elapsed("PT23H", "FREQ=WEEKLY;COUNT=2") == [dt.timedelta(hours=23)] * 2
    # A day is nominal: 23 elapsed hours across the change, 24 after it.
    assert _elapsed("P1D", "FREQ=WEEKLY;COUNT=2") == [
        dt.timedelta(hours=23),
        dt.timedelta(hours=24),
    ]
