"""Named end-to-end scenarios: the real Google adapter, the emulator, the engine and the store."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from syncd.config import OAuthProviderSettings, Settings
from syncd.registry import build_provider
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import read_spans
from syncd.store.models import Calendar, Event, Occurrence, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.google import Fault, GoogleCalendarEmulator

pytestmark = pytest.mark.store

CALENDAR = "primary@example.com"
DAY = dt.date.today() + dt.timedelta(days=3)


def google_settings(base: Settings, emulator: GoogleCalendarEmulator) -> Settings:
    return base.model_copy(
        update={
            "google": OAuthProviderSettings(
                client_id=emulator.client_id,
                client_secret=emulator.client_secret,
                api_base_url=emulator.base_url,
                token_url=emulator.token_url,
                authorize_url=emulator.authorize_url,
            ),
            "http_timeout": 5.0,
        }
    )


def timed(event_id: str, start: dt.datetime, minutes: int = 60, **fields: Any) -> dict[str, Any]:
    end = start + dt.timedelta(minutes=minutes)
    return {
        "id": event_id,
        "summary": event_id,
        "start": {"dateTime": start.isoformat(), "timeZone": "Europe/London"},
        "end": {"dateTime": end.isoformat(), "timeZone": "Europe/London"},
        **fields,
    }


def at(hour: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), ZoneInfo("Europe/London"))


@pytest.fixture
def emulator() -> Any:
    with GoogleCalendarEmulator() as running:
        running.add_calendar(CALENDAR, primary=True, time_zone="Europe/London")
        yield running


@pytest.fixture
def grant(emulator: GoogleCalendarEmulator) -> dict[str, Any]:
    return emulator.issue_grant()


@pytest.fixture
def google_context(
    engine: Engine, settings: Settings, box: SecretBox, emulator: GoogleCalendarEmulator
) -> SyncContext:
    configured = google_settings(settings, emulator)

    def factory(s: Settings, name: str, credentials: dict[str, Any]) -> Any:
        provider = build_provider(s, name, credentials)
        provider.retry_initial_wait = 0.01  # type: ignore[attr-defined]
        provider.retry_max_wait = 0.05  # type: ignore[attr-defined]
        provider.page_size = 100  # type: ignore[attr-defined]  (several pages per calendar)
        return provider

    return SyncContext(engine, configured, box, worker_id="test", provider_factory=factory)


@pytest.fixture
def profile_id(engine: Engine, box: SecretBox, grant: dict[str, Any]) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, "scenarios").application
        account = create_account(session, application.id, CALENDAR, timezone="Europe/London")
        return create_profile(session, box, account, "google", CALENDAR, grant).id


def stored_event_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.execute(select(Event.provider_event_id)).scalars())


def spans_on(engine: Engine, start: dt.datetime, days: int = 1) -> list[Any]:
    with Session(engine) as session:
        calendars = list(session.execute(select(Calendar.id)).scalars())
        return read_spans(session, calendars, start, start + dt.timedelta(days=days))


def status_of(engine: Engine, profile_id: str) -> str:
    with Session(engine) as session:
        profile = session.get(Profile, profile_id)
        assert profile is not None
        return profile.sync_status


def test_google_profile_syncs_paged_events_and_becomes_active(
    google_context: SyncContext, engine: Engine, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    for index in range(300):  # more than one page
        emulator.put_event(CALENDAR, timed(f"ev{index:03d}", at(8) + dt.timedelta(days=index % 30)))
    outcome = sync_profile(google_context, profile_id)
    assert outcome.outcome == "ok", outcome.detail
    assert outcome.pages >= 2
    assert len(stored_event_ids(engine)) == 300
    assert status_of(engine, profile_id) == "active"


def test_410_full_resync_replaces_the_calendar_events(
    google_context: SyncContext, engine: Engine, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    for index in range(6):
        emulator.put_event(CALENDAR, timed(f"keep{index}", at(9 + index)))
    sync_profile(google_context, profile_id)
    emulator.expire_sync_tokens(CALENDAR)
    emulator.put_event(CALENDAR, timed("added-while-gone", at(17)))
    outcome = sync_profile(google_context, profile_id)
    assert outcome.outcome == "ok", outcome.detail
    assert len(emulator.requests_to(f"/calendars/{CALENDAR}/events")) >= 3
    assert stored_event_ids(engine) == {f"keep{i}" for i in range(6)} | {"added-while-gone"}


def test_revoked_refresh_token_disconnects_the_profile(
    google_context: SyncContext,
    engine: Engine,
    profile_id: str,
    emulator: GoogleCalendarEmulator,
    grant: dict[str, Any],
) -> None:
    sync_profile(google_context, profile_id)
    emulator.revoke_grant(grant["refresh_token"])
    outcome = sync_profile(google_context, profile_id)
    assert outcome.outcome == "auth_revoked"
    assert status_of(engine, profile_id) == "disconnected"


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(500),
        Fault.http_status(503),
        Fault.drop_connection(),
        Fault.rate_limited(0),
    ],
    ids=["500", "503", "reset", "429"],
)
def test_transient_errors_never_disconnect(
    google_context: SyncContext,
    engine: Engine,
    profile_id: str,
    emulator: GoogleCalendarEmulator,
    fault: Fault,
) -> None:
    emulator.put_event(CALENDAR, timed("one", at(9)))
    emulator.inject(fault, times=50)
    outcome = sync_profile(google_context, profile_id)
    assert outcome.outcome == "transient_error"
    assert status_of(engine, profile_id) == "pending"
    emulator.clear_faults()  # the outage ends
    assert sync_profile(google_context, profile_id).outcome == "ok"
    assert status_of(engine, profile_id) == "active"
    assert stored_event_ids(engine) == {"one"}


def test_retry_after_is_honoured_within_a_sync(
    google_context: SyncContext, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    emulator.put_event(CALENDAR, timed("one", at(9)))
    emulator.inject(Fault.rate_limited(1), times=1)
    started = time.monotonic()
    outcome = sync_profile(google_context, profile_id)
    assert outcome.outcome == "ok", outcome.detail
    assert time.monotonic() - started >= 1.0


def test_weekly_series_crossing_dst_keeps_its_local_time(
    google_context: SyncContext, engine: Engine, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    autumn = dt.date(DAY.year if DAY.month < 10 else DAY.year + 1, 10, 31)
    autumn -= dt.timedelta(days=(autumn.weekday() + 1) % 7)  # last Sunday of October
    first = at(9, autumn - dt.timedelta(days=13))
    emulator.put_event(CALENDAR, timed("weekly", first, recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    sync_profile(google_context, profile_id)
    spans = spans_on(engine, first - dt.timedelta(hours=2), days=30)
    assert [span.start.hour for span in spans] == [8, 8, 9, 9]  # UTC: BST, BST, GMT, GMT


def test_cancelled_instance_is_not_busy(
    google_context: SyncContext, engine: Engine, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    first = at(10)
    emulator.put_event(CALENDAR, timed("daily", first, recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    sync_profile(google_context, profile_id)
    second = first + dt.timedelta(days=1)
    emulator.cancel_instance(
        CALENDAR, "daily", {"dateTime": second.isoformat(), "timeZone": "Europe/London"}
    )
    sync_profile(google_context, profile_id)
    starts = [span.start for span in spans_on(engine, first - dt.timedelta(hours=1), days=4)]
    assert starts == [first.astimezone(dt.UTC), (first + dt.timedelta(days=2)).astimezone(dt.UTC)]


def test_deleting_a_moved_instance_cancels_it_and_never_brings_the_original_back(
    google_context: SyncContext, engine: Engine, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    """Issue 15, defect 6: the incremental sync reports the deleted exception bare.

    The emulator serves it as real incremental syncs do, ``{id, status: "cancelled"}``
    with the id ``<master>_<instant>`` and no ``recurringEventId`` (see
    tests/unit/providers/test_google_bare_tombstones.py for the sources).
    """
    first = at(10)
    emulator.put_event(CALENDAR, timed("daily", first, recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    second = first + dt.timedelta(days=1)
    original = {"dateTime": second.isoformat(), "timeZone": "Europe/London"}
    moved = second + dt.timedelta(hours=4)
    emulator.override_instance(
        CALENDAR,
        "daily",
        original,
        start={"dateTime": moved.isoformat(), "timeZone": "Europe/London"},
        end={"dateTime": (moved + dt.timedelta(hours=1)).isoformat(), "timeZone": "Europe/London"},
    )
    sync_profile(google_context, profile_id)
    window = first - dt.timedelta(hours=1)
    assert moved.astimezone(dt.UTC) in [span.start for span in spans_on(engine, window, days=4)]
    instance_id = "daily_" + second.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    emulator.delete_event(CALENDAR, instance_id)

    outcome = sync_profile(google_context, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    starts = [span.start for span in spans_on(engine, window, days=4)]
    assert starts == [first.astimezone(dt.UTC), (first + dt.timedelta(days=2)).astimezone(dt.UTC)]


def test_declined_event_is_not_busy(
    google_context: SyncContext, engine: Engine, profile_id: str, emulator: GoogleCalendarEmulator
) -> None:
    attendees = [{"email": CALENDAR, "self": True, "responseStatus": "declined"}]
    emulator.put_event(CALENDAR, timed("declined", at(11), attendees=attendees))
    emulator.put_event(CALENDAR, timed("accepted", at(13)))
    sync_profile(google_context, profile_id)
    statuses = {
        span.start.astimezone(ZoneInfo("Europe/London")).hour: span.free_busy_status
        for span in spans_on(engine, at(0))
    }
    assert statuses == {11: "free", 13: "busy"}


@pytest.mark.slow
def test_kill_9_mid_sync_then_restart_leaves_the_store_equal_to_the_provider(
    database_url: str,
    engine: Engine,
    box: SecretBox,
    secret_key: str,
    emulator: GoogleCalendarEmulator,
    profile_id: str,
    tmp_path: Path,
) -> None:
    for index in range(3000):  # two or more pages of Google's maximum page size
        emulator.put_event(CALENDAR, timed(f"ev{index:04d}", at(8) + dt.timedelta(hours=index)))
    environment = {
        **os.environ,
        "SYNCD_DATABASE_URL": database_url,
        "SYNCD_SECRET_KEYS": secret_key,
        "SYNCD_GOOGLE__CLIENT_ID": emulator.client_id,
        "SYNCD_GOOGLE__CLIENT_SECRET": emulator.client_secret,
        "SYNCD_GOOGLE__API_BASE_URL": emulator.base_url,
        "SYNCD_GOOGLE__TOKEN_URL": emulator.token_url,
    }
    # Slow pages leave time to kill between commits; the next page is fetched while one
    # commits, so each fetch must take well longer than a page commit.
    emulator.inject(Fault.delay(1.5), times=100)
    command = [sys.executable, "-m", "syncd", "sync", "--once", "--json"]
    victim = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(stored_event_ids(engine)) == 0:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    partial = len(stored_event_ids(engine))
    assert 0 < partial < 3000
    emulator.clear_faults()
    emulator.put_event(CALENDAR, timed("after-crash", at(7)))
    emulator.delete_event(CALENDAR, "ev0000")
    # The restart finishes the interrupted full sync; the next poll picks up what changed
    # meanwhile, as the provider's sync token promises.
    for _ in range(2):
        finished = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=120
        )
        assert finished.returncode == 0, finished.stderr
    expected = {f"ev{i:04d}" for i in range(1, 3000)} | {"after-crash"}
    assert stored_event_ids(engine) == expected
    with Session(engine) as session:
        occurrences = session.execute(select(func.count()).select_from(Occurrence)).scalar()
    assert occurrences == len(expected)  # one span per single event: nothing doubled
    assert status_of(engine, profile_id) == "active"
