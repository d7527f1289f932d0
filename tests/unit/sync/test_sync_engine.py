"""The sync engine against an in-memory provider: pages, cursors, resyncs, sync_status."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session

from providers.base import ChangePage, RemoteCalendar, RemoteEvent
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import read_spans
from syncd.store.models import Calendar, Event, Profile, SyncRun
from syncd.store.profiles import create_profile, profile_credentials, reauthorize_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from syncd.sync.status import effective_status
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

# Relative to today, so the events stay inside the engine's expansion window whenever tests run.
BASE = dt.datetime.combine(dt.date.today() + dt.timedelta(days=7), dt.time(9), dt.UTC)


def next_spring_forward_in_europe(after: dt.date) -> dt.date:
    """The next last-Sunday-of-March (when Europe/London moves to BST) after ``after``."""
    for year in (after.year, after.year + 1):
        day = dt.date(year, 3, 31)
        day -= dt.timedelta(days=(day.weekday() + 1) % 7)
        if day > after + dt.timedelta(days=14):
            return day
    raise AssertionError("unreachable")


def timed_event(event_id: str, hour: int, *, day: int = 0, **fields: object) -> RemoteEvent:
    start = BASE + dt.timedelta(days=day, hours=hour)
    return RemoteEvent(event_id, start, start + dt.timedelta(hours=1), summary=event_id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def remote() -> FakeAccount:
    account = FakeAccount()
    account.add_calendar("work")
    for index in range(5):
        account.put("work", timed_event(f"e{index}", index))
    return account


@pytest.fixture
def profile_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, "tests").application
        account = create_account(session, application.id, "a@example.com", timezone="Europe/London")
        return create_profile(session, box, account, "fake", "fake@example.com", {"token": "t"}).id


@pytest.fixture
def context(engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount) -> SyncContext:
    return SyncContext(
        engine, settings, box, worker_id="test", provider_factory=lambda *_: FakeProvider(remote)
    )


def stored_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.execute(select(Event.provider_event_id)).scalars())


def busy_starts(engine: Engine) -> list[dt.datetime]:
    with Session(engine) as session:
        calendar_ids = list(session.execute(select(Calendar.id)).scalars())
        spans = read_spans(
            session, calendar_ids, BASE - dt.timedelta(days=1), BASE + dt.timedelta(days=30)
        )
    return sorted(span.start for span in spans)


def profile(engine: Engine, profile_id: str) -> Profile:
    with Session(engine) as session:
        row = session.get(Profile, profile_id)
        assert row is not None
        return row


def test_first_sync_stores_every_event_and_makes_the_profile_active(
    context: SyncContext, engine: Engine, profile_id: str
) -> None:
    assert profile(engine, profile_id).sync_status == "pending"
    outcome = sync_profile(context, profile_id)
    assert outcome.outcome == "ok"
    assert stored_ids(engine) == {f"e{i}" for i in range(5)}
    assert profile(engine, profile_id).sync_status == "active"
    assert profile(engine, profile_id).initial_sync_done


def test_each_page_is_committed_with_its_cursor(
    context: SyncContext, engine: Engine, profile_id: str
) -> None:
    outcome = sync_profile(context, profile_id)
    assert outcome.pages == 3  # 5 events, pages of 2
    with Session(engine) as session:
        calendar = session.execute(select(Calendar)).scalar_one()
    assert calendar.sync_cursor is not None and not calendar.full_sync_in_progress


def test_incremental_sync_applies_only_changes(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    sync_profile(context, profile_id)
    remote.put("work", timed_event("e1", 10))
    remote.delete("work", "e2")
    remote.put("work", timed_event("new", 12))
    outcome = sync_profile(context, profile_id)
    assert outcome.changes == 3
    assert stored_ids(engine) == {"e0", "e1", "e3", "e4", "new"}
    assert BASE + dt.timedelta(hours=10) in busy_starts(engine)


def test_crash_mid_sync_resumes_without_losing_or_doubling_events(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    remote.fail_after_pages = 1
    first = sync_profile(context, profile_id)
    assert first.outcome == "transient_error"
    assert len(stored_ids(engine)) == 2
    remote.fail_after_pages = None
    second = sync_profile(context, profile_id)
    assert second.outcome == "ok"
    assert second.pages == 2  # resumed after the committed page
    assert stored_ids(engine) == {f"e{i}" for i in range(5)}
    assert len(busy_starts(engine)) == 5


def test_expired_cursor_triggers_a_full_resync_that_drops_vanished_events(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    sync_profile(context, profile_id)
    remote.calendars["work"].events.pop("e3")  # deleted without a trace in the change log
    remote.expired_cursors = True
    outcome = sync_profile(context, profile_id)
    assert outcome.outcome == "ok"
    assert stored_ids(engine) == {"e0", "e1", "e2", "e4"}


def test_calendar_suddenly_empty_is_not_wiped_until_a_second_full_sync_agrees(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    sync_profile(context, profile_id)
    remote.calendars["work"].events.clear()
    remote.expired_cursors = True
    sync_profile(context, profile_id)
    assert len(stored_ids(engine)) == 5
    remote.expired_cursors = False
    sync_profile(context, profile_id)
    assert stored_ids(engine) == set()


def test_revoked_credentials_disconnect_the_profile(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    remote.revoked = True
    outcome = sync_profile(context, profile_id)
    assert outcome.outcome == "auth_revoked"
    row = profile(engine, profile_id)
    assert row.sync_status == "disconnected"
    assert "reauthorize" in row.status_reason
    assert row.next_due_at is None


def test_transient_errors_never_disconnect_and_back_off(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    sync_profile(context, profile_id)
    remote.transient_failures = 3
    delays = []
    for _ in range(3):
        outcome = sync_profile(context, profile_id)
        assert outcome.outcome == "transient_error"
        row = profile(engine, profile_id)
        assert row.sync_status == "active"
        assert row.next_due_at is not None and row.last_attempt_at is not None
        delays.append((row.next_due_at - row.last_attempt_at).total_seconds())
    assert delays[0] < delays[1] < delays[2]


def test_stale_data_reports_pending_with_a_reason(
    context: SyncContext, engine: Engine, profile_id: str, settings: Settings
) -> None:
    sync_profile(context, profile_id)
    row = profile(engine, profile_id)
    assert row.last_success_at is not None
    later = row.last_success_at + dt.timedelta(seconds=settings.staleness_bound + 1)
    current = effective_status(row, later, settings.staleness_bound)
    assert current.sync_status == "pending"
    assert "stale" in current.reason


def test_reauthorized_profile_is_pending_then_active_after_its_next_sync(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount, box: SecretBox
) -> None:
    remote.revoked = True
    sync_profile(context, profile_id)
    remote.revoked = False
    with session_scope(engine) as session:
        row = session.get(Profile, profile_id)
        assert row is not None
        reauthorize_profile(session, box, row, {"token": "new"})
    assert profile(engine, profile_id).sync_status == "pending"
    assert sync_profile(context, profile_id).outcome == "ok"
    assert profile(engine, profile_id).sync_status == "active"


def test_cancelled_transparent_and_declined_events_are_not_busy(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:
    remote.put("work", timed_event("transparent", 20, transparency="transparent"))
    remote.put("work", timed_event("declined", 21, participation_status="declined"))
    sync_profile(context, profile_id)
    with Session(engine) as session:
        calendar_ids = list(session.execute(select(Calendar.id)).scalars())
        busy = read_spans(session, calendar_ids, BASE, BASE + dt.timedelta(days=2), busy_only=True)
    assert {span.start.hour for span in busy} == {9, 10, 11, 12, 13}


def test_weekly_series_keeps_local_time_across_the_dst_change(
    context: SyncContext, engine: Engine, profile_id: str, remote: FakeAccount
) -> None:

    london = ZoneInfo("Europe/London")
    change = next_spring_forward_in_europe(dt.date.today())
    start = dt.datetime.combine(change - dt.timedelta(days=14), dt.time(9), london)
    remote.calendars["work"].events.clear()
    remote.put(
        "work",
        RemoteEvent(
            "weekly",
            start,
            start + dt.timedelta(hours=1),
            tzid="Europe/London",
            recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
        ),
    )
    sync_profile(context, profile_id)
    with Session(engine) as session:
        calendar_ids = list(session.execute(select(Calendar.id)).scalars())
        spans = read_spans(
            session, calendar_ids, start - dt.timedelta(days=1), start + dt.timedelta(days=40)
        )
    assert [span.start.hour for span in spans] == [9, 9, 8, 8]  # UTC: GMT, GMT, BST, BST


def test_every_run_is_logged(context: SyncContext, engine: Engine, profile_id: str) -> None:
    sync_profile(context, profile_id)
    with Session(engine) as session:
        runs = list(session.execute(select(SyncRun)).scalars())
    assert [(run.worker, run.outcome) for run in runs] == [("test", "ok")]


def test_a_run_that_changes_nothing_still_extends_series_as_the_window_moves_on(
    engine: Engine, settings: Settings, box: SecretBox, profile_id: str, remote: FakeAccount
) -> None:
    start = BASE.replace(hour=8)
    remote.put(
        "work",
        RemoteEvent(
            "daily", start, start + dt.timedelta(minutes=30), recurrence=["RRULE:FREQ=DAILY"]
        ),
    )

    def run_with_horizon(days: int) -> int:
        moved = settings.model_copy(update={"expansion_horizon_days": days})
        context = SyncContext(
            engine, moved, box, worker_id="test", provider_factory=lambda *_: FakeProvider(remote)
        )
        return sync_profile(context, profile_id).changes

    def last_daily_start() -> dt.datetime:
        with Session(engine) as session:
            calendar_ids = list(session.execute(select(Calendar.id)).scalars())
            far = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
            spans = read_spans(session, calendar_ids, start, far)
        return max(span.start for span in spans if span.start.time() == start.time())

    run_with_horizon(30)
    reached = last_daily_start()
    assert run_with_horizon(60) == 0  # nothing changed at the provider
    assert last_daily_start() >= reached + dt.timedelta(days=25)


def expansion_checks_made(engine: Engine, run: Callable[[], object]) -> int:
    """How many times ``run`` asked which series need extending."""
    asked: list[str] = []

    def note(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        if "expanded_until <" in statement:
            asked.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(asked)


def test_a_calendar_whose_series_all_reach_far_enough_is_not_asked_again_within_the_hour(
    context: SyncContext, engine: Engine, profile_id: str
) -> None:
    assert expansion_checks_made(engine, lambda: sync_profile(context, profile_id)) == 1
    assert expansion_checks_made(engine, lambda: sync_profile(context, profile_id)) == 0


def test_the_expansion_check_comes_back_once_the_window_has_moved_an_hour(
    context: SyncContext, engine: Engine, profile_id: str
) -> None:
    sync_profile(context, profile_id)
    horizon = context.settings.expansion_horizon_days
    context.settings = context.settings.model_copy(update={"expansion_horizon_days": horizon + 1})

    assert expansion_checks_made(engine, lambda: sync_profile(context, profile_id)) == 1


class _TokenPerPage(FakeProvider):
    """Like Google's ``nextSyncToken``: every last page carries a cursor of its own, even
    when nothing changed; and a token refreshed while paging (``refreshed``)."""

    serial = 0

    def __init__(self, account: FakeAccount, refreshed: dict[str, str] | None = None) -> None:
        super().__init__(account)
        self.refreshed = refreshed

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        for page in super().sync_events(calendar, cursor):
            _TokenPerPage.serial += 1
            position = json.loads(page.cursor or "{}")
            yield replace(page, cursor=json.dumps({**position, "serial": _TokenPerPage.serial}))

    def refreshed_credentials(self) -> dict[str, str] | None:
        refreshed, self.refreshed = self.refreshed, None
        return refreshed


def stored_cursor(engine: Engine) -> str | None:
    with Session(engine) as session:
        return session.execute(select(Calendar.sync_cursor)).scalar_one()


def test_a_run_that_changes_nothing_stores_the_new_cursor(
    engine: Engine, settings: Settings, box: SecretBox, profile_id: str, remote: FakeAccount
) -> None:
    context = SyncContext(
        engine, settings, box, worker_id="test", provider_factory=lambda *_: _TokenPerPage(remote)
    )
    sync_profile(context, profile_id)
    outcome = sync_profile(context, profile_id)
    assert (outcome.outcome, outcome.changes) == ("ok", 0)
    assert json.loads(stored_cursor(engine) or "{}")["serial"] == _TokenPerPage.serial


def test_a_run_that_changes_nothing_commits_only_its_start_and_its_close(
    context: SyncContext, engine: Engine, profile_id: str
) -> None:
    sync_profile(context, profile_id)
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", count)
    try:
        assert sync_profile(context, profile_id).changes == 0
    finally:
        event.remove(engine, "commit", count)
    assert len(commits) == 2


def test_credentials_refreshed_in_a_run_that_changes_nothing_are_stored(
    engine: Engine, settings: Settings, box: SecretBox, profile_id: str, remote: FakeAccount
) -> None:
    providers = iter([_TokenPerPage(remote), _TokenPerPage(remote, {"token": "rotated"})])
    context = SyncContext(
        engine, settings, box, worker_id="test", provider_factory=lambda *_: next(providers)
    )
    sync_profile(context, profile_id)
    assert sync_profile(context, profile_id).changes == 0
    assert profile_credentials(box, profile(engine, profile_id)) == {"token": "rotated"}
