"""Issue 15, defect 7: one rule for floating times, single events and series alike.

Floating times are in the calendar's zone (the collection's ``calendar-timezone``, or
the object's ``X-WR-TIMEZONE``), else the account's; never UTC by accident.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from providers.base import RemoteEvent
from providers.caldav.ical import remote_event_from_ical, zone_named
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page, read_spans
from syncd.store.models import Calendar
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

pytestmark = pytest.mark.store

ACCOUNT_ZONE = "Europe/Berlin"
DAY = dt.date.today() + dt.timedelta(days=3)


def _floating(uid: str, rrule: bool, x_wr: str | None = None) -> str:
    start = dt.datetime.combine(DAY, dt.time(9))
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
        + (f"X-WR-TIMEZONE:{x_wr}\r\n" if x_wr else "")
        + f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%S}\r\nDTEND:{start + dt.timedelta(hours=1):%Y%m%dT%H%M%S}\r\n"
        + ("RRULE:FREQ=DAILY;COUNT=1\r\n" if rrule else "")
        + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _starts(
    engine: Engine, box: object, calendar_zone: str | None, x_wr: str | None = None
) -> list[dt.datetime]:
    zone = zone_named(calendar_zone)
    items = [
        remote_event_from_ical(f"/c/{uid}.ics", '"1"', _floating(uid, rrule, x_wr), (), zone)
        for uid, rrule in (("single", False), ("series", True))
    ]
    events = [item for item in items if isinstance(item, RemoteEvent)]
    with session_scope(engine) as session:
        application = create_application(session, box, "f").application  # type: ignore[arg-type]
        account = create_account(session, application.id, "a@b.c", timezone=ACCOUNT_ZONE)
        profile = create_profile(session, box, account, "caldav", "u", {"url": "x"})  # type: ignore[arg-type]
        calendar = Calendar(id="cal_f", profile_id=profile.id, provider_calendar_id="c")
        session.add(calendar)
        session.flush()
        now = dt.datetime.now(dt.UTC)
        window = ExpansionWindow.around(now, 30, 60)
        apply_page(session, calendar, events, [], 1, window, ACCOUNT_ZONE)
    with Session(engine) as session:
        spans = read_spans(
            session, ["cal_f"], now - dt.timedelta(days=1), now + dt.timedelta(days=30)
        )
    return sorted(span.start.astimezone(dt.UTC) for span in spans)


def _nine(zone: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(9), ZoneInfo(zone)).astimezone(dt.UTC)


def test_without_a_calendar_zone_floating_times_are_in_the_account_zone(
    engine: Engine, box: object
) -> None:
    assert _starts(engine, box, None) == [_nine(ACCOUNT_ZONE)] * 2


def test_with_a_calendar_timezone_single_and_recurring_floating_times_agree(
    engine: Engine, box: object
) -> None:
    assert _starts(engine, box, "Europe/London") == [_nine("Europe/London")] * 2


def test_x_wr_timezone_places_both_too(engine: Engine, box: object) -> None:
    assert _starts(engine, box, None, "America/New_York") == [_nine("America/New_York")] * 2
