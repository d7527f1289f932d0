"""End-to-end scenarios: the real Microsoft adapter, the Graph emulator, the engine, the store."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.microsoft import CA_BUNDLE_ENV
from syncd import cli
from syncd.config import OAuthProviderSettings, Settings
from syncd.radicale_server import free_port
from syncd.registry import build_provider
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import session_scope
from syncd.store.events import read_spans
from syncd.store.models import Calendar, Event, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.graph import CUSTOM_ZONE, DEFAULT_USER, Fault, GraphEmulator
from tests.support.cli import CliResult, invoke_cli

CALENDAR = "AAMkAGcalendar-primary"
DAY = dt.date.today() + dt.timedelta(days=3)
LONDON = ZoneInfo("Europe/London")


def microsoft_settings(base: Settings, emulator: GraphEmulator) -> Settings:
    return base.model_copy(
        update={
            "microsoft": OAuthProviderSettings(
                client_id=emulator.client_id,
                client_secret=emulator.client_secret,
                api_base_url=emulator.api_base_url,
                token_url=emulator.token_url,
                authorize_url=emulator.authorize_url,
            ),
            "http_timeout": 5.0,
        }
    )


def at(hour: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), LONDON)


def timed(event_id: str, start: dt.datetime, minutes: int = 60, **fields: Any) -> dict[str, Any]:
    end = start + dt.timedelta(minutes=minutes)
    return {
        "id": event_id,
        "subject": event_id,
        "start": {"dateTime": start.replace(tzinfo=None).isoformat(), "timeZone": "Europe/London"},
        "end": {"dateTime": end.replace(tzinfo=None).isoformat(), "timeZone": "Europe/London"},
        **fields,
    }


@pytest.fixture
def emulator(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.add_calendar(CALENDAR, name="Calendar", default=True)
    return graph_emulator


@pytest.fixture
def grant(emulator: GraphEmulator) -> dict[str, Any]:
    return emulator.issue_grant()


@pytest.fixture
def microsoft_context(
    engine: Engine, settings: Settings, box: SecretBox, emulator: GraphEmulator
) -> SyncContext:
    configured = microsoft_settings(settings, emulator)

    def factory(s: Settings, name: str, credentials: dict[str, Any]) -> Any:
        provider = build_provider(s, name, credentials)
        provider.retry_initial_wait = 0.01  # type: ignore[attr-defined]
        provider.retry_max_wait = 0.05  # type: ignore[attr-defined]
        provider.page_size = 50  # type: ignore[attr-defined]  (several pages per calendar)
        return provider

    return SyncContext(engine, configured, box, worker_id="test", provider_factory=factory)


@pytest.fixture
def profile_id(engine: Engine, box: SecretBox, grant: dict[str, Any]) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, "scenarios").application
        account = create_account(session, application.id, DEFAULT_USER, timezone="Europe/London")
        return create_profile(session, box, account, "microsoft", DEFAULT_USER, grant).id


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


pytestmark = pytest.mark.store


def test_microsoft_profile_syncs_paged_events_and_becomes_active(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    for index in range(120):  # several delta pages
        emulator.put_event(
            CALENDAR, timed(f"AAMkAGev{index:03d}", at(8) + dt.timedelta(days=index % 30))
        )

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    assert outcome.pages >= 3
    assert len(stored_event_ids(engine)) == 120
    assert status_of(engine, profile_id) == "active"
    with Session(engine) as session:
        (calendar,) = session.execute(select(Calendar)).scalars()
    assert calendar.primary and calendar.integrated_conferencing_available


def test_second_sync_applies_only_the_delta(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    emulator.put_event(CALENDAR, timed("AAMkAGkeep", at(9)))
    emulator.put_event(CALENDAR, timed("AAMkAGgone", at(10)))
    sync_profile(microsoft_context, profile_id)
    emulator.delete_event(CALENDAR, "AAMkAGgone")
    emulator.put_event(CALENDAR, timed("AAMkAGnew", at(11)))

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "ok" and outcome.changes == 2
    assert stored_event_ids(engine) == {"AAMkAGkeep", "AAMkAGnew"}
    last = emulator.requests_to("/calendarView/delta")[-1]
    assert "$deltatoken" in last.query


def test_410_full_resync_replaces_the_calendar_events(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    for index in range(6):
        emulator.put_event(CALENDAR, timed(f"AAMkAGkeep{index}", at(9 + index)))
    sync_profile(microsoft_context, profile_id)
    emulator.expire_delta_tokens(CALENDAR)
    emulator.delete_event(CALENDAR, "AAMkAGkeep0")
    emulator.put_event(CALENDAR, timed("AAMkAGadded-while-gone", at(17)))

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    assert stored_event_ids(engine) == {f"AAMkAGkeep{i}" for i in range(1, 6)} | {
        "AAMkAGadded-while-gone"
    }
    full_rounds = [
        r for r in emulator.requests_to("/calendarView/delta") if "startDateTime" in r.query
    ]
    assert len(full_rounds) == 2


def test_revoked_refresh_token_disconnects_the_profile(
    microsoft_context: SyncContext,
    engine: Engine,
    profile_id: str,
    emulator: GraphEmulator,
    grant: dict[str, Any],
) -> None:
    sync_profile(microsoft_context, profile_id)
    emulator.revoke_grant(grant["refresh_token"])

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "auth_revoked"
    assert status_of(engine, profile_id) == "disconnected"


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(500),
        Fault.http_status(503, "ServiceNotAvailable"),
        Fault.drop_connection(),
        Fault.rate_limited(0),
    ],
    ids=["500", "503", "reset", "429"],
)
def test_transient_errors_never_disconnect(
    microsoft_context: SyncContext,
    engine: Engine,
    profile_id: str,
    emulator: GraphEmulator,
    fault: Fault,
) -> None:
    emulator.put_event(CALENDAR, timed("AAMkAGone", at(9)))
    emulator.inject(fault, times=50)

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "transient_error"
    assert status_of(engine, profile_id) == "pending"
    emulator.clear_faults()  # the outage ends
    assert sync_profile(microsoft_context, profile_id).outcome == "ok"
    assert status_of(engine, profile_id) == "active"
    assert stored_event_ids(engine) == {"AAMkAGone"}


def test_token_authority_outage_never_disconnects(
    microsoft_context: SyncContext, engine: Engine, box: SecretBox, emulator: GraphEmulator
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "outage").application
        account = create_account(session, application.id, DEFAULT_USER)
        credentials = emulator.issue_grant(access_token_valid=False)
        profile = create_profile(session, box, account, "microsoft", DEFAULT_USER, credentials)
    emulator.inject(Fault.http_status(500), times=50, path_prefix="/common/oauth2")

    outcome = sync_profile(microsoft_context, profile.id)

    assert outcome.outcome == "transient_error"
    assert status_of(engine, profile.id) == "pending"


def test_rotated_refresh_token_is_stored_and_used_next_time(
    microsoft_context: SyncContext, engine: Engine, box: SecretBox, emulator: GraphEmulator
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "rotation").application
        account = create_account(session, application.id, DEFAULT_USER)
        first = emulator.issue_grant(access_token_valid=False)
        profile = create_profile(session, box, account, "microsoft", DEFAULT_USER, first)
    assert sync_profile(microsoft_context, profile.id).outcome == "ok"
    emulator.retire_refresh_token(first["refresh_token"])  # only the rotated one works now
    emulator.expire_access_tokens()

    assert sync_profile(microsoft_context, profile.id).outcome == "ok"


def test_retry_after_is_honoured_within_a_sync(
    microsoft_context: SyncContext, profile_id: str, emulator: GraphEmulator
) -> None:
    emulator.put_event(CALENDAR, timed("AAMkAGone", at(9)))
    emulator.inject(Fault.rate_limited(1), times=1)
    started = time.monotonic()

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    assert time.monotonic() - started >= 1.0


def test_weekly_series_crossing_dst_keeps_its_local_time(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    autumn = dt.date(DAY.year if DAY.month < 10 else DAY.year + 1, 10, 31)
    autumn -= dt.timedelta(days=(autumn.weekday() + 1) % 7)  # last Sunday of October
    first = at(9, autumn - dt.timedelta(days=13))
    series = timed("AAMkAGweekly", first)
    series["recurrence"] = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A").lower()]},
        "range": {
            "type": "numbered",
            "startDate": first.date().isoformat(),
            "numberOfOccurrences": 4,
        },
    }
    emulator.put_event(CALENDAR, series)

    sync_profile(microsoft_context, profile_id)

    spans = spans_on(engine, first - dt.timedelta(hours=2), days=30)
    assert [span.start.hour for span in spans] == [8, 8, 9, 9]  # UTC: BST, BST, GMT, GMT


def test_cancelled_occurrence_is_not_busy(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    first = at(10)
    series = timed("AAMkAGdaily", first)
    series["recurrence"] = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": DAY.isoformat(), "numberOfOccurrences": 3},
    }
    emulator.put_event(CALENDAR, series)
    sync_profile(microsoft_context, profile_id)
    emulator.cancel_occurrence(CALENDAR, "AAMkAGdaily", DAY + dt.timedelta(days=1))

    sync_profile(microsoft_context, profile_id)

    starts = [span.start for span in spans_on(engine, first - dt.timedelta(hours=1), days=4)]
    assert starts == [first.astimezone(dt.UTC), (first + dt.timedelta(days=2)).astimezone(dt.UTC)]


def test_declined_and_free_events_are_not_busy(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    declined = {"response": "declined", "time": "2024-01-01T00:00:00Z"}
    emulator.put_event(
        CALENDAR, timed("AAMkAGdeclined", at(11), isOrganizer=False, responseStatus=declined)
    )
    emulator.put_event(CALENDAR, timed("AAMkAGfree", at(12), showAs="free"))
    emulator.put_event(CALENDAR, timed("AAMkAGbusy", at(13)))

    sync_profile(microsoft_context, profile_id)

    statuses = {
        span.start.astimezone(LONDON).hour: span.free_busy_status
        for span in spans_on(engine, at(0))
    }
    assert statuses.get(13) == "busy"
    assert statuses.get(11, "free") == "free" and statuses.get(12, "free") == "free"


def test_a_free_or_declined_series_is_not_busy_though_its_occurrences_are_sparse(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    """Issue 15, defect 5: delta serves the occurrences without showAs or responseStatus.

    The emulator's default sparse shape (tests/unit/providers/
    test_graph_sparse_occurrences.py names the sources); the adapter reads the master.
    """
    daily = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": DAY.isoformat(), "numberOfOccurrences": 2},
    }
    declined = {"response": "declined", "time": "2024-01-01T00:00:00Z"}
    emulator.put_event(CALENDAR, timed("AAMkAGfree", at(9), showAs="free", recurrence=daily))
    emulator.put_event(
        CALENDAR,
        timed("AAMkAGno", at(11), isOrganizer=False, responseStatus=declined, recurrence=daily),
    )
    emulator.put_event(CALENDAR, timed("AAMkAGbusy", at(13), recurrence=daily))

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    statuses = {
        (span.start.date(), span.start.astimezone(LONDON).hour): span.free_busy_status
        for span in spans_on(engine, at(0), days=2)
    }
    assert {key: value for key, value in statuses.items() if value == "busy"} == {
        (DAY + dt.timedelta(days=n), 13): "busy" for n in range(2)
    }


def test_an_event_in_an_odd_zone_is_stored_at_its_utc_time_and_the_default_is_primary(
    microsoft_context: SyncContext, engine: Engine, profile_id: str, emulator: GraphEmulator
) -> None:
    """Issue 15, defect 11, through the engine and the store.

    The emulator's default shapes: the event's times keep the "Customized Time Zone" label
    under ``Prefer: outlook.timezone="UTC"``, and ``/me/calendars`` has no
    isDefaultCalendar (sources in tests/unit/providers/
    test_graph_odd_time_zones_and_default_calendar.py).
    """
    emulator.add_calendar("AAMkAGcalendar-second", name="Second")
    local = dt.datetime.combine(DAY, dt.time(15), ZoneInfo(CUSTOM_ZONE))
    event = timed("AAMkAGcustom", local)
    for key in ("start", "end"):
        event[key]["timeZone"] = "Customized Time Zone"
    emulator.put_event(CALENDAR, event)

    outcome = sync_profile(microsoft_context, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    assert [span.start for span in spans_on(engine, at(0))] == [local.astimezone(dt.UTC)]
    with Session(engine) as session:
        primaries = session.execute(
            select(Calendar.provider_calendar_id).where(Calendar.primary == True)  # noqa: E712
        ).scalars()
        assert list(primaries) == [CALENDAR]


# -- the admin CLI -------------------------------------------------------------


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """``run_cli("accounts", "list")`` → (exit status, stdout, stderr), in-process."""
    monkeypatch.setenv("SYNCD_DATABASE_URL", f"sqlite:///{tmp_path / 'syncd.db'}")
    monkeypatch.setenv("SYNCD_SECRET_KEYS", generate_key())

    def run(*args: str) -> CliResult:
        return invoke_cli(monkeypatch, capsys, args)

    return run


def _browser_that_consents(emulator: GraphEmulator) -> Callable[..., None]:
    """Stands in for the operator's browser: opens the printed URL, follows the redirect."""
    original = cli.out.print

    def fake_print(*objects: Any, **kwargs: Any) -> None:
        text = str(objects[0]) if objects else ""
        if text.startswith(emulator.authorize_url):

            def visit() -> None:
                requests.get(text, verify=emulator.ca_bundle, timeout=10)

            threading.Thread(target=visit, daemon=True).start()
            return
        original(*objects, **kwargs)

    return fake_print


def test_cli_connects_microsoft_through_the_oauth_redirect_and_reauthorizes(
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    emulator: GraphEmulator,
) -> None:
    for key, value in {
        "CLIENT_ID": emulator.client_id,
        "CLIENT_SECRET": emulator.client_secret,
        "API_BASE_URL": emulator.api_base_url,
        "TOKEN_URL": emulator.token_url,
        "AUTHORIZE_URL": emulator.authorize_url,
        "REDIRECT_URI": f"http://127.0.0.1:{free_port()}/oauth/callback",
    }.items():
        monkeypatch.setenv(f"SYNCD_MICROSOFT__{key}", value)
    assert os.environ[CA_BUNDLE_ENV] == emulator.ca_bundle  # set by the graph_emulator fixture
    monkeypatch.setattr(cli.out, "print", _browser_that_consents(emulator))
    assert run_cli("apps", "create", "acme")[0] == 0
    status, output, _ = run_cli("accounts", "create", "--app", "acme", "--email", DEFAULT_USER)
    account_id = output.strip()

    status, output, error = run_cli("profiles", "connect", "microsoft", "--account", account_id)
    assert status == 0, error
    profile_id = output.strip().splitlines()[-1]
    assert run_cli("sync", "--once", "--json")[0] == 0
    rows = json.loads(run_cli("profiles", "list", "--json")[1])
    assert (rows[0]["provider"], rows[0]["profile_name"]) == ("microsoft", DEFAULT_USER)
    assert rows[0]["sync_status"] == "active"

    emulator.revoke_user(DEFAULT_USER)
    run_cli("sync", "--once", "--json")
    assert json.loads(run_cli("profiles", "list", "--json")[1])[0]["sync_status"] == "disconnected"

    status, _, error = run_cli("profiles", "reauthorize", profile_id)
    assert status == 0, error
    assert json.loads(run_cli("profiles", "list", "--json")[1])[0]["sync_status"] == "pending"
    assert run_cli("sync", "--once", "--json")[0] == 0
    assert json.loads(run_cli("profiles", "list", "--json")[1])[0]["sync_status"] == "active"


def test_cli_imports_a_microsoft_refresh_token(
    run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, emulator: GraphEmulator
) -> None:
    for key, value in {
        "CLIENT_ID": emulator.client_id,
        "CLIENT_SECRET": emulator.client_secret,
        "API_BASE_URL": emulator.api_base_url,
        "TOKEN_URL": emulator.token_url,
    }.items():
        monkeypatch.setenv(f"SYNCD_MICROSOFT__{key}", value)
    run_cli("apps", "create", "acme")
    account_id = run_cli("accounts", "create", "--app", "acme", "--email", DEFAULT_USER)[1].strip()
    refresh_token = emulator.issue_grant()["refresh_token"]

    status, _, error = run_cli(
        "profiles", "connect", "microsoft", "--account", account_id,
        "--refresh-token", refresh_token,
    )  # fmt: skip

    assert status == 0, error
    rows = json.loads(run_cli("profiles", "list", "--json")[1])
    assert rows[0]["profile_name"] == DEFAULT_USER
    assert refresh_token not in run_cli("profiles", "list", "--json")[1]
