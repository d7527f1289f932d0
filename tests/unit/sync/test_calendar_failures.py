"""Issue 15, defect 2: one calendar's failure never stops the profile's others.

Each failure is recorded on its calendar (reason, time, backoff), the profile's
``sync_status`` says which calendars fail, and a calendar the provider says is gone (404)
is marked deleted with its events removed in the same run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.base import (
    ChangePage,
    NotFound,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from syncd.sync.status import effective_status
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

BASE = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)


class PerCalendarFaults(FakeProvider):
    """The fake provider, with an error to raise per calendar id."""

    def __init__(self, account: FakeAccount, faults: dict[str, Exception]) -> None:
        super().__init__(account)
        self.faults = faults
        self.attempts: list[str] = []

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        self.attempts.append(calendar.provider_calendar_id)
        fault = self.faults.get(calendar.provider_calendar_id)
        if fault is not None:
            raise fault
        yield from super().sync_events(calendar, cursor)


def _event(event_id: str, hour: int) -> RemoteEvent:
    start = BASE + dt.timedelta(hours=hour)
    return RemoteEvent(event_id, start, start + dt.timedelta(hours=1), summary=event_id)


@pytest.fixture
def remote() -> FakeAccount:
    account = FakeAccount()
    for name, hour in (("alpha", 1), ("broken", 3), ("omega", 5)):
        account.add_calendar(name, name.title())
        account.put(name, _event(f"{name}-1", hour))
    return account


@pytest.fixture
def profile_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, "tests").application
        account = create_account(session, application.id, "a@example.com", timezone="Etc/UTC")
        return create_profile(session, box, account, "fake", "fake@example.com", {"t": "t"}).id


def _context(
    engine: Engine, settings: Settings, box: SecretBox, provider: FakeProvider
) -> SyncContext:
    return SyncContext(engine, settings, box, provider_factory=lambda *_: provider)


def _calendars(engine: Engine) -> dict[str, Calendar]:
    with Session(engine) as session:
        rows = list(session.execute(select(Calendar)).scalars())
        for row in rows:
            session.expunge(row)
    return {row.provider_calendar_id: row for row in rows}


def _stored(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.execute(select(Event.provider_event_id)).scalars())


def _profile(engine: Engine, profile_id: str) -> Profile:
    with Session(engine) as session:
        row = session.get(Profile, profile_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_failing_calendar_does_not_keep_the_others_from_syncing(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = PerCalendarFaults(remote, {})
    context = _context(engine, settings, box, provider)
    assert sync_profile(context, profile_id).outcome == "ok"  # first: everything syncs
    provider.faults["broken"] = ProviderError("unexpected HTTP 412")
    remote.put("alpha", _event("alpha-2", 2))
    remote.put("omega", _event("omega-2", 6))
    with session_scope(engine) as session:
        profile = session.get(Profile, profile_id)
        assert profile is not None
        profile.next_due_at = None
        session.add(profile)

    outcome = sync_profile(context, profile_id)

    assert outcome.outcome == "partial"
    assert _stored(engine) == {"alpha-1", "alpha-2", "broken-1", "omega-1", "omega-2"}
    broken = _calendars(engine)["broken"]
    assert broken.last_error == "ProviderError: unexpected HTTP 412"
    assert broken.last_error_at is not None and broken.failure_count == 1
    assert broken.next_retry_at is not None and broken.next_retry_at > broken.last_error_at
    assert set(outcome.failed_calendars) == {broken.id}
    profile = _profile(engine, profile_id)
    assert profile.sync_status == "active"  # never disconnected by a calendar's failure
    assert "1 calendar(s) failing: Broken: ProviderError: unexpected HTTP 412" in (
        profile.status_reason
    )


def test_a_failing_calendar_backs_off_alone_and_recovers(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = PerCalendarFaults(remote, {"broken": TransientError("boom")})
    context = _context(engine, settings, box, provider)
    assert sync_profile(context, profile_id).outcome == "partial"
    provider.attempts.clear()

    assert sync_profile(context, profile_id).outcome == "partial"  # still backing off
    assert provider.attempts == ["alpha", "omega"]

    provider.faults.clear()
    with session_scope(engine) as session:
        for calendar in session.execute(select(Calendar)).scalars():
            calendar.next_retry_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            session.add(calendar)
    assert sync_profile(context, profile_id).outcome == "ok"
    broken = _calendars(engine)["broken"]
    assert (broken.failure_count, broken.last_error, broken.next_retry_at) == (0, None, None)
    assert _profile(engine, profile_id).status_reason == "synced"
    assert "broken-1" in _stored(engine)


def test_a_calendar_failing_longer_than_the_staleness_bound_makes_the_profile_pending(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = PerCalendarFaults(remote, {})
    context = _context(engine, settings, box, provider)
    assert sync_profile(context, profile_id).outcome == "ok"
    with session_scope(engine) as session:
        for calendar in session.execute(select(Calendar)).scalars():
            calendar.last_synced_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
            session.add(calendar)
    provider.faults["broken"] = ProviderError("unexpected HTTP 409")

    assert sync_profile(context, profile_id).outcome == "partial"

    profile = _profile(engine, profile_id)
    seen = effective_status(profile, dt.datetime.now(dt.UTC), settings.staleness_bound)
    assert seen.sync_status == "pending"
    assert "Broken: ProviderError: unexpected HTTP 409" in seen.reason


def test_a_calendar_that_never_synced_and_fails_leaves_the_profile_pending(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = PerCalendarFaults(remote, {"broken": ProviderError("unexpected HTTP 412")})

    assert sync_profile(_context(engine, settings, box, provider), profile_id).outcome == "partial"

    profile = _profile(engine, profile_id)
    assert profile.sync_status == "pending"
    assert "Broken" in profile.status_reason
    assert _stored(engine) == {"alpha-1", "omega-1"}


def test_every_calendar_failing_is_the_profile_s_failure(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    faults: dict[str, Exception] = {name: TransientError("down") for name in remote.calendars}
    provider = PerCalendarFaults(remote, faults)

    outcome = sync_profile(_context(engine, settings, box, provider), profile_id)

    assert outcome.outcome == "transient_error"
    assert all(c.last_error == "TransientError: down" for c in _calendars(engine).values())
    assert all(c.next_retry_at is None for c in _calendars(engine).values())  # profile backs off


def test_a_calendar_gone_at_the_provider_is_deleted_with_its_events_at_once(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = PerCalendarFaults(remote, {})
    context = _context(engine, settings, box, provider)
    assert sync_profile(context, profile_id).outcome == "ok"
    provider.faults["broken"] = NotFound("no such resource (404)")

    outcome = sync_profile(context, profile_id)  # no calendar-list refresh is due

    assert outcome.outcome == "ok"
    assert _calendars(engine)["broken"].deleted
    assert _stored(engine) == {"alpha-1", "omega-1"}
    assert _calendars(engine)["broken"].id in outcome.changed_calendar_ids


def test_a_poisoned_item_and_a_broken_calendar_cost_nothing_else(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    """Issue 15's "done when": every other item and calendar syncs, and it says which failed."""
    poisoned = dataclasses.replace(
        _event("alpha-poisoned", 2),
        updated=dt.datetime(2024, 5, 1, 12, 30),  # floating
    )
    backwards = dataclasses.replace(_event("alpha-backwards", 3), end=BASE)  # ends first
    remote.put("alpha", poisoned)
    remote.put("alpha", backwards)
    provider = PerCalendarFaults(remote, {"broken": ProviderError("unexpected HTTP 412")})

    outcome = sync_profile(_context(engine, settings, box, provider), profile_id)

    assert outcome.outcome == "partial"
    assert _stored(engine) >= {"alpha-1", "alpha-poisoned", "omega-1"}
    assert "broken-1" not in _stored(engine)
    broken = _calendars(engine)["broken"]
    assert set(outcome.failed_calendars) == {broken.id}
    assert "Broken: ProviderError: unexpected HTTP 412" in _profile(engine, profile_id).last_error
