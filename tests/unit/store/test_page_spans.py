"""Spans across pages: a page replaces the spans of every series it touches, including
rows that earlier pages stored, while rows it inserts itself have none to replace."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from providers.base import RemoteEvent
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page, read_spans
from syncd.store.models import Calendar, Occurrence
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

pytestmark = pytest.mark.store

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
FIRST = (NOW + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0)
WINDOW = ExpansionWindow.around(NOW, 30, 60)
HOUR = dt.timedelta(hours=1)


def _master() -> RemoteEvent:
    return RemoteEvent(
        provider_event_id="master",
        start=FIRST,
        end=FIRST + HOUR,
        tzid="UTC",
        recurrence=["RRULE:FREQ=DAILY;COUNT=3"],
    )


def _moved_second_instance() -> RemoteEvent:
    original = FIRST + dt.timedelta(days=1)
    return RemoteEvent(
        provider_event_id="master_override",
        start=original + 2 * HOUR,
        end=original + 3 * HOUR,
        tzid="UTC",
        recurring_event_id="master",
        original_start=original,
    )


def _pages(engine: Engine, box: SecretBox, *pages: list[RemoteEvent]) -> list[dt.datetime]:
    with session_scope(engine) as session:
        application = create_application(session, box, "spans").application
        account = create_account(session, application.id, "a@b.c")
        profile = create_profile(session, box, account, "caldav", "u", {"url": "x"})
        session.add(Calendar(id="cal_s", profile_id=profile.id, provider_calendar_id="c"))
    for page in pages:
        with session_scope(engine) as session:
            calendar = session.get(Calendar, "cal_s")
            assert calendar is not None
            apply_page(session, calendar, page, [], 1, WINDOW, "UTC")
    with Session(engine) as session:
        spans = read_spans(session, ["cal_s"], NOW, NOW + dt.timedelta(days=10))
        assert session.scalar(select(func.count()).select_from(Occurrence)) == len(spans)
    return [span.start for span in spans]


def test_an_override_on_a_later_page_replaces_the_instance_an_earlier_page_stored(
    engine: Engine, box: SecretBox
) -> None:
    starts = _pages(engine, box, [_master()], [_moved_second_instance()])
    assert starts == [FIRST, FIRST + dt.timedelta(days=1, hours=2), FIRST + dt.timedelta(days=2)]


def test_a_series_inserted_with_its_override_in_one_page_has_each_span_once(
    engine: Engine, box: SecretBox
) -> None:
    starts = _pages(engine, box, [_master(), _moved_second_instance()])
    assert starts == [FIRST, FIRST + dt.timedelta(days=1, hours=2), FIRST + dt.timedelta(days=2)]


def test_a_page_listing_a_stored_series_again_keeps_each_span_once(
    engine: Engine, box: SecretBox
) -> None:
    starts = _pages(engine, box, [_master()], [_master()])
    assert starts == [FIRST + dt.timedelta(days=day) for day in range(3)]
