"""Issue 15, defect 1: no conversion of one item's properties can lose the page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.base import RemoteEvent
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page
from syncd.store.models import Calendar, Event
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

pytestmark = pytest.mark.store

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)


def _calendar(engine: Engine, box: object) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, "guard").application  # type: ignore[arg-type]
        account = create_account(session, application.id, "a@example.com", timezone="Etc/UTC")
        profile = create_profile(session, box, account, "fake", "f", {"t": "t"})  # type: ignore[arg-type]
        calendar = Calendar(id="cal_guard", profile_id=profile.id, provider_calendar_id="c")
        session.add(calendar)
        return calendar.id


def test_a_floating_updated_time_never_loses_the_page(engine: Engine, box: object) -> None:
    calendar_id = _calendar(engine, box)
    floating = dt.datetime(2024, 5, 1, 12, 30)  # SabreDAV's DTSTAMP without its Z
    upserts = [
        RemoteEvent("good", START, START + dt.timedelta(hours=1), updated=START),
        RemoteEvent(
            "sabre",
            START + dt.timedelta(hours=2),
            START + dt.timedelta(hours=3),
            updated=floating,
        ),
    ]
    window = ExpansionWindow.around(START, 30, 30)
    with session_scope(engine) as session:
        calendar = session.get(Calendar, calendar_id)
        assert calendar is not None
        result = apply_page(session, calendar, upserts, [], 1, window, "Etc/UTC")

    assert (result.upserted, result.skipped) == (2, 0)
    with Session(engine) as session:
        stored = dict(
            session.execute(select(Event.provider_event_id, Event.provider_updated_at)).all()
        )
    assert stored == {"good": START, "sabre": floating.replace(tzinfo=dt.UTC)}
