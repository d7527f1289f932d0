"""The availability busy read: the same busy time as ``read_spans``, as integer microseconds.

Runs on SQLite and, with ``SYNCD_TEST_DATABASE_URL``, Postgres (the ``engine`` fixture):
the two hand back stored times differently (text vs. naive datetimes), and both must
give exact microseconds since the epoch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, text

from syncd.store.db import session_scope
from syncd.store.events import read_busy_microseconds, read_spans
from tests.support.api import ApiAccount, ApiWorld

BERLIN = ZoneInfo("Europe/Berlin")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DAY = dt.date(2030, 3, 25)  # Europe/Berlin moves to summer time on 2030-03-31
WINDOW = (
    dt.datetime(2030, 3, 25, 9, 0, tzinfo=dt.UTC),
    dt.datetime(2030, 4, 20, 17, 30, tzinfo=dt.UTC),
)
EVERYTHING = (dt.datetime(1960, 1, 1, tzinfo=dt.UTC), dt.datetime(2040, 1, 1, tzinfo=dt.UTC))


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0, days: int = 0) -> Any:
    moment = dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, microsecond)
    return (moment + dt.timedelta(days=days)).replace(tzinfo=dt.UTC)


def micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


@pytest.fixture
def people(api_world: ApiWorld) -> tuple[ApiAccount, ApiAccount]:
    """Two accounts: one with two calendars full of every kind of span, one with none."""
    tenant = api_world.application("acme")
    alice = api_world.account(tenant, "alice@example.com")
    api_world.profile(alice)
    work = api_world.calendar(alice, "Work", primary=True)
    home = api_world.calendar(alice, "Home")
    bob = api_world.account(tenant, "bob@example.com")
    api_world.profile(bob)
    api_world.calendar(bob, "Empty")

    api_world.event(work, at(10), at(11))
    api_world.event(work, at(10, 15, 30, 123456), at(10, 45, 0, 999999))  # sub-second bounds
    api_world.event(work, at(12), at(12))  # zero length
    api_world.event(work, at(8), at(9, 30))  # straddles the window start
    api_world.event(work, at(13), at(14), participation_status="tentative")
    api_world.event(work, at(14), at(15), transparency="transparent")
    api_world.event(work, at(15), at(16), status="cancelled")
    api_world.event(work, at(16), at(17), participation_status="declined")
    api_world.event(work, DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=3))  # all day
    api_world.event(work, dt.datetime(1969, 7, 20, 20, 17, 40, 500000, tzinfo=dt.UTC), at(0))
    api_world.event(work, at(9, days=40), at(10, days=40))  # after the window
    # Weekly at 09:30 Berlin across the change to summer time (08:30Z, then 07:30Z).
    berlin_start = dt.datetime(2030, 3, 26, 9, 30, tzinfo=BERLIN)
    api_world.event(
        home,
        berlin_start,
        berlin_start + dt.timedelta(hours=1),
        tzid="Europe/Berlin",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"],
    )
    api_world.event(home, at(17), at(18, days=26))  # ends after the window
    return alice, bob


def expected(
    engine: Engine, calendar_ids: list[str], window: tuple[dt.datetime, dt.datetime]
) -> dict[str, list[tuple[int, int]]]:
    """What ``read_spans(busy_only=True)`` says, in the busy read's form."""
    with session_scope(engine) as session:
        spans = read_spans(session, calendar_ids, *window, busy_only=True)
    found: dict[str, list[tuple[int, int]]] = {}
    for span in spans:
        found.setdefault(span.calendar_id, []).append((micros(span.start), micros(span.end)))
    return found


def busy_read(
    engine: Engine, calendar_ids: list[str], window: tuple[dt.datetime, dt.datetime]
) -> dict[str, list[tuple[int, int]]]:
    with session_scope(engine) as session:
        return read_busy_microseconds(session, calendar_ids, *window)


@pytest.mark.parametrize("window", [WINDOW, EVERYTHING], ids=["window", "everything"])
def test_busy_read_returns_the_same_spans_as_read_spans(
    engine: Engine,
    people: tuple[ApiAccount, ApiAccount],
    window: tuple[dt.datetime, dt.datetime],
) -> None:
    alice, bob = people
    calendar_ids = alice.calendar_ids + bob.calendar_ids
    found = busy_read(engine, calendar_ids, window)
    want = expected(engine, calendar_ids, window)
    assert {cid: sorted(spans) for cid, spans in found.items()} == want
    assert sum(len(spans) for spans in want.values()) >= 8


def test_busy_read_gives_exact_utc_microseconds(
    engine: Engine, people: tuple[ApiAccount, ApiAccount]
) -> None:
    alice, _ = people
    work, home = alice.calendar_ids
    found = busy_read(engine, alice.calendar_ids, EVERYTHING)
    assert (micros(at(10, 15, 30, 123456)), micros(at(10, 45, 0, 999999))) in found[work]
    moon = dt.datetime(1969, 7, 20, 20, 17, 40, 500000, tzinfo=dt.UTC)
    assert (micros(moon), micros(at(0))) in found[work]
    berlin = sorted(span for span in found[home] if span[1] - span[0] == 3_600_000_000)
    assert [dt.datetime.fromtimestamp(start / 1e6, dt.UTC).hour for start, _ in berlin] == [
        8,
        7,
        7,
        7,
        7,
        7,
    ]


def test_busy_read_leaves_out_free_time_and_calendars_without_busy_time(
    engine: Engine, people: tuple[ApiAccount, ApiAccount]
) -> None:
    alice, bob = people
    found = busy_read(engine, alice.calendar_ids + bob.calendar_ids, WINDOW)
    assert set(found) == set(alice.calendar_ids)
    work_spans = found[alice.calendar_ids[0]]
    for free_hour in (14, 15, 16):  # transparent, cancelled, declined
        assert (micros(at(free_hour)), micros(at(free_hour + 1))) not in work_spans
    assert (micros(at(13)), micros(at(14))) in work_spans  # tentative is busy


def test_busy_read_of_no_calendars_is_empty(engine: Engine) -> None:
    assert busy_read(engine, [], WINDOW) == {}


def test_busy_read_is_one_unordered_query_on_the_range_index(
    engine: Engine, people: tuple[ApiAccount, ApiAccount]
) -> None:
    alice, bob = people
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        busy_read(engine, alice.calendar_ids + bob.calendar_ids, WINDOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    selects = [(sql, params) for sql, params in statements if sql.lstrip().startswith("SELECT")]
    assert len(selects) == 1
    sql, params = selects[0]
    assert "ORDER BY" not in sql.upper()
    assert "occurrence" in sql
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        assert any("ix_occurrence_range" in str(row) for row in plan), plan
    else:
        with engine.connect() as connection:
            connection.execute(text("SET enable_seqscan = off"))
            plan = connection.exec_driver_sql(f"EXPLAIN {sql}", params).all()
        assert any("ix_occurrence_range" in str(row) for row in plan), plan
