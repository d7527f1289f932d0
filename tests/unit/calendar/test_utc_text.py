"""``syncd.calendar.utc_text``: a cached ISO text only where equal values share a text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from syncd.calendar.utc_text import utc_iso

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_utc_instant_gives_its_isoformat() -> None:
    moment = dt.datetime(2026, 3, 29, 1, 30, 0, 123456, dt.UTC)
    assert utc_iso(moment) == "2026-03-29T01:30:00.123456+00:00"
    assert utc_iso(moment.replace(microsecond=0)) == "2026-03-29T01:30:00+00:00"


def test_an_equal_time_in_another_zone_keeps_its_own_text() -> None:
    in_utc = dt.datetime(2026, 7, 1, 7, 0, tzinfo=dt.UTC)
    in_berlin = dt.datetime(2026, 7, 1, 9, 0, tzinfo=BERLIN)
    assert in_utc == in_berlin
    assert utc_iso(in_utc) == "2026-07-01T07:00:00+00:00"
    assert utc_iso(in_berlin) == "2026-07-01T09:00:00+02:00"


def test_both_readings_of_a_repeated_local_hour_keep_their_own_offsets() -> None:
    first = dt.datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert utc_iso(first) == "2026-10-25T02:30:00+02:00"
    assert utc_iso(second) == "2026-10-25T02:30:00+01:00"


def test_a_floating_time_gives_its_isoformat() -> None:
    assert utc_iso(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05"
