"""Which series need extending is read from the masters alone, on both databases.

Every sync of every calendar asks ``series_needing_expansion``; on a calendar of 10,000
single events it used to read all of them (a fifth of a no-change sync). The partial
index ``ix_event_expansion`` holds only series masters, and the query's terms match its
WHERE so each database's planner can use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from providers.base import RemoteEvent
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, series_needing_expansion
from syncd.store.models import Calendar
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)
HOUR = dt.timedelta(hours=1)


def _synced_calendar(engine: Engine, settings: Settings, box: SecretBox) -> str:
    remote = FakeAccount()
    remote.add_calendar("work")
    remote.put("work", RemoteEvent("single", START, START + HOUR))
    remote.put("work", RemoteEvent("weekly", START, START + HOUR, recurrence=["RRULE:FREQ=WEEKLY"]))
    with session_scope(engine) as session:
        application = create_application(session, box, "t").application
        account = create_account(session, application.id, "a@example.com", timezone="Etc/UTC")
        profile_id = create_profile(session, box, account, "fake", "f", {"t": "t"}).id
    context = SyncContext(engine, settings, box, provider_factory=lambda *_: FakeProvider(remote))
    assert sync_profile(context, profile_id).outcome == "ok"
    with session_scope(engine) as session:
        calendar = session.query(Calendar).filter_by(profile_id=profile_id).one()
        return calendar.id


def _far_window() -> ExpansionWindow:
    """A window reaching past every series' materialised end: all masters are due."""
    now = dt.datetime.now(dt.UTC)
    return ExpansionWindow(now, now + dt.timedelta(days=3650))


def test_only_the_series_master_needs_extending(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    calendar_id = _synced_calendar(engine, settings, box)
    with session_scope(engine) as session:
        due = series_needing_expansion(session, calendar_id, _far_window(), dt.timedelta(0))
    assert due == ["weekly"]


def test_the_masters_are_read_through_the_expansion_index(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    calendar_id = _synced_calendar(engine, settings, box)
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(engine) as session:
            series_needing_expansion(session, calendar_id, _far_window(), dt.timedelta(0))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    ((sql, params),) = [(s, p) for s, p in statements if s.lstrip().startswith("SELECT")]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        else:
            connection.execute(text("SET enable_seqscan = off"))
            plan = connection.exec_driver_sql(f"EXPLAIN {sql}", params).all()
    assert any("ix_event_expansion" in str(row) for row in plan), plan
