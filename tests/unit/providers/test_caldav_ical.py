"""iCalendar parsing of the CalDAV adapter on shapes real servers and clients produce."""

from __future__ import annotations

import datetime as dt

from providers.base import Geo
from providers.caldav.ical import remote_event_from_ical

SABRE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Sabre//Sabre VObject 4.5.4//EN\r\n"
    "BEGIN:VEVENT\r\nUID:sabre-1\r\nDTSTAMP:20240501T123000\r\n"
    "LAST-MODIFIED:20240502T080000\r\nCREATED:20240501T123000\r\n"
    "DTSTART:20250303T090000Z\r\nDTEND:20250303T100000Z\r\nSUMMARY:Sabre\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_a_floating_last_modified_is_read_as_utc() -> None:
    event = remote_event_from_ical("/c/sabre-1.ics", '"1"', SABRE)

    assert event is not None
    assert event.updated == dt.datetime(2024, 5, 2, 8, 0, tzinfo=dt.UTC)


def test_a_floating_dtstamp_alone_is_read_as_utc() -> None:
    event = remote_event_from_ical(
        "/c/sabre-1.ics", '"1"', SABRE.replace("LAST-MODIFIED:20240502T080000\r\n", "")
    )

    assert event is not None
    assert event.updated == dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)


def test_geo_is_read_as_the_locations_coordinates() -> None:
    text = SABRE.replace("SUMMARY:Sabre\r\n", "SUMMARY:Sabre\r\nGEO:51.5074;-0.1278\r\n")
    event = remote_event_from_ical("/c/sabre-1.ics", '"1"', text)

    assert event is not None
    assert event.geo == Geo(latitude=51.5074, longitude=-0.1278)


def test_a_geo_out_of_range_is_left_out_and_the_event_kept() -> None:
    text = SABRE.replace("SUMMARY:Sabre\r\n", "SUMMARY:Sabre\r\nGEO:95.0;-0.1278\r\n")
    event = remote_event_from_ical("/c/sabre-1.ics", '"1"', text)

    assert event is not None
    assert (event.summary, event.geo) == ("Sabre", None)
