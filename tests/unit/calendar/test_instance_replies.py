"""Issue 15, defect 8: an override's own ATTENDEE line decides that instance's busy time.

A series accepted with one instance declined leaves that instance free; a declined
series with one instance accepted makes that instance busy. Both when the adapter's
parse is in memory and when the series is re-expanded from the stored row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from providers.caldav.ical import remote_event_from_ical
from syncd.calendar.expansion import expand_series

ME = "me@example.com"
DAY = dt.date.today() + dt.timedelta(days=3)
WINDOW = (
    dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
)


def _series(master_reply: str, instance_reply: str) -> str:
    start = dt.datetime.combine(DAY, dt.time(9), dt.UTC)
    second = start + dt.timedelta(days=1)
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
        "BEGIN:VEVENT\r\nUID:replies\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:{start:{fmt}}\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
        "ORGANIZER:mailto:boss@example.com\r\n"
        f"ATTENDEE;PARTSTAT={master_reply}:mailto:{ME}\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:replies\r\nDTSTAMP:20240101T000000Z\r\n"
        f"RECURRENCE-ID:{second:{fmt}}\r\nDTSTART:{second:{fmt}}\r\nDURATION:PT1H\r\n"
        "ORGANIZER:mailto:boss@example.com\r\n"
        f"ATTENDEE;PARTSTAT={instance_reply}:mailto:{ME}\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )


@pytest.mark.parametrize("from_row", [False, True])
@pytest.mark.parametrize(
    ("master", "instance", "expected"),
    [
        ("ACCEPTED", "DECLINED", ["busy", "free", "busy"]),
        ("DECLINED", "ACCEPTED", ["free", "busy", "free"]),
        ("ACCEPTED", "TENTATIVE", ["busy", "tentative", "busy"]),
    ],
)
def test_an_instance_reply_decides_that_instance(
    master: str, instance: str, expected: list[str], from_row: bool
) -> None:
    event = remote_event_from_ical("/c/replies.ics", '"1"', _series(master, instance), {ME})
    assert event is not None
    if from_row:  # what rebuild_series sees: no in-memory parse
        event = dataclasses.replace(event, extra={})

    spans = expand_series(event, [], *WINDOW)

    assert [span.free_busy_status for span in spans] == expected
