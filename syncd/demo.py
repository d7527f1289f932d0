"""``syncd demo``: the real daemon on SQLite, syncing a real local CalDAV server, API up.

Nothing is faked: a Radicale server is started on 127.0.0.1 with sample calendars, a demo
application and two accounts are created with CalDAV profiles pointing at it, and the
same daemon and API as ``syncd run`` serve them.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from rich.console import Console
from sqlmodel import Session

from syncd.api.server import ApiServer
from syncd.config import load_settings
from syncd.identity.accounts import create_account_with_password
from syncd.identity.operator import set_operator_password
from syncd.logs import configure_logging
from syncd.radicale_server import RadicaleServer, sample_event_ics, seed_calendar_files
from syncd.registry import build_provider
from syncd.signals import stop_on_signals, stopped_after
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.models import Profile, utcnow
from syncd.store.profiles import create_profile, list_profiles
from syncd.store.queries import calendars_and_event_count
from syncd.store.tenants import create_application, issue_access_token
from syncd.sync.daemon import SyncDaemon
from syncd.sync.status import ACTIVE, effective_status
from syncd.tables import print_table

#: The demo accounts sign in to the hosted pages with this password; the operator view
#: opens with ``DEMO_OPERATOR_PASSWORD`` (a throw-away demo: both are printed).
DEMO_PASSWORD = "demo password"
DEMO_OPERATOR_PASSWORD = "demo operator"

DEMO_USERS = {
    "alice": ("alice@example.com", "Alice Example", "Europe/London"),
    "bob": ("bob@example.com", "Bob Example", "America/New_York"),
}


def _sample_calendars(today: dt.date) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """A week of realistic events: a recurring stand-up, meetings, an all-day event."""
    monday = today - dt.timedelta(days=today.weekday())

    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour, minute))

    alice_work = [
        (
            "standup",
            sample_event_ics(
                "standup",
                "Daily stand-up",
                at(0, 9, 30),
                at(0, 9, 45),
                tzid="Europe/London",
                rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ),
        ),
        (
            "planning",
            sample_event_ics(
                "planning", "Sprint planning", at(1, 13), at(1, 15), tzid="Europe/London"
            ),
        ),
        (
            "focus",
            sample_event_ics(
                "focus", "Focus time", at(2, 10), at(2, 12), tzid="Europe/London", transparent=True
            ),
        ),
        (
            "offsite",
            sample_event_ics(
                "offsite", "Team offsite", monday + dt.timedelta(days=4), monday + dt.timedelta(5)
            ),
        ),
    ]
    bob_work = [
        (
            "one-to-one",
            sample_event_ics(
                "one-to-one",
                "1:1 with Alice",
                at(1, 9),
                at(1, 9, 30),
                tzid="America/New_York",
                rrule="FREQ=WEEKLY;COUNT=12",
            ),
        ),
        (
            "customer",
            sample_event_ics(
                "customer", "Customer call", at(2, 11), at(2, 12), tzid="America/New_York"
            ),
        ),
    ]
    bob_personal = [
        (
            "dentist",
            sample_event_ics("dentist", "Dentist", at(3, 8), at(3, 9), tzid="America/New_York"),
        ),
    ]
    return {
        ("alice", "work"): alice_work,
        ("bob", "work"): bob_work,
        ("bob", "personal"): bob_personal,
    }


def run_demo(
    folder: Path | None = None,
    api_port: int = 8080,
    duration: float | None = None,
    console: Console | None = None,
    stop: threading.Event | None = None,
    caldav_port: int | None = None,
) -> dict[str, Any]:
    """Run the demo until ``duration`` passes or ``stop``/a signal; returns what it set up.

    A temporary folder (no ``folder`` given) is removed however the demo ends, Ctrl-C
    included.
    """
    console = console or Console()
    if stop is None and threading.current_thread() is threading.main_thread():
        stop = stop_on_signals()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return _run_demo_in(folder, api_port, duration, console, stop, caldav_port)
    temporary = Path(tempfile.mkdtemp(prefix="syncd-demo-"))
    try:
        return _run_demo_in(temporary, api_port, duration, console, stop, caldav_port)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _run_demo_in(
    folder: Path,
    api_port: int,
    duration: float | None,
    console: Console,
    stop: threading.Event | None,
    caldav_port: int | None,
) -> dict[str, Any]:
    storage = folder / "radicale"
    for (user, calendar), items in _sample_calendars(dt.date.today()).items():
        seed_calendar_files(storage, user, calendar, items, display_name=calendar.title())

    settings = load_settings(
        database_url=f"sqlite:///{folder / 'syncd.db'}",
        secret_keys=[generate_key()],
        poll_interval=30,
        api_port=api_port,
        log_level="WARNING",  # keep the summary readable; problems still show
        web={"cookie_secure": False},  # the pages are served over plain http on 127.0.0.1
    )
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    box = SecretBox(settings.secret_keys)

    with RadicaleServer(storage_folder=storage, port=caldav_port) as radicale:
        setup = _create_demo_tenants(engine, box, settings, radicale.url)
        daemon = SyncDaemon(engine, settings, box)
        server = ApiServer(settings, engine, host="127.0.0.1", port=api_port)
        daemon.start()
        server.start()
        try:
            setup["api_url"] = server.url
            pages = server.url + settings.web.prefix
            setup["sign_in_url"] = f"{pages}/sign-in?{urlencode({'app': setup['application_id']})}"
            setup["operator_url"] = f"{pages}/operator"
            _wait_until_synced(engine, settings, timeout=60)
            _print_summary(console, engine, settings, setup, radicale.url, folder)
            _wait(duration, stop)
        finally:
            server.stop()
            daemon.stop()
            engine.dispose()
    return setup


def _create_demo_tenants(
    engine: Any, box: SecretBox, settings: Any, radicale_url: str
) -> dict[str, Any]:
    with session_scope(engine) as session:
        created = create_application(session, box, f"demo-{int(time.time())}")
        accounts = {}
        for user, (email, name, timezone) in DEMO_USERS.items():
            account = create_account_with_password(
                session,
                created.application.id,
                email,
                DEMO_PASSWORD,
                name=name,
                timezone=timezone,
                now=utcnow(),
            )
            credentials = {"url": f"{radicale_url}/{user}/", "username": user, "password": "demo"}
            adapter = build_provider(settings, "caldav", credentials)
            profile = create_profile(
                session,
                box,
                account,
                "caldav",
                adapter.profile_name(),
                credentials,
                adapter.service_identity(),
            )
            accounts[user] = {
                "sub": account.id,
                "profile_id": profile.id,
                "access_token": issue_access_token(session, account.id),
            }
        set_operator_password(session, DEMO_OPERATOR_PASSWORD, utcnow())
    return {
        "api_key": created.api_key,
        "application_id": created.application.id,
        "accounts": accounts,
    }


def _wait_until_synced(engine: Any, settings: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            profiles = list_profiles(session)
        now = utcnow()
        if profiles and all(
            effective_status(p, now, settings.staleness_bound).sync_status == ACTIVE
            for p in profiles
        ):
            return True
        time.sleep(0.2)
    return False


def _print_summary(
    console: Console,
    engine: Any,
    settings: Any,
    setup: dict[str, Any],
    radicale_url: str,
    folder: Path,
) -> None:
    rows: list[list[Any]] = []
    now = utcnow()
    with Session(engine) as session:
        for user, info in setup["accounts"].items():
            profile = session.get(Profile, info["profile_id"])
            assert profile is not None
            calendars, events = calendars_and_event_count(session, profile.id)
            status = effective_status(profile, now, settings.staleness_bound).sync_status
            rows.append(
                [
                    user,
                    info["sub"],
                    profile.id,
                    status,
                    ", ".join(c.name for c in calendars),
                    str(events),
                ]
            )
    columns = ["account", "sub", "profile", "sync_status", "calendars", "events"]
    print_table(console, "syncd demo: synced profiles", columns, rows)
    api = setup["api_url"]
    alice, bob = setup["accounts"]["alice"], setup["accounts"]["bob"]
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    query = {
        "participants": [
            {"members": [{"sub": alice["sub"]}, {"sub": bob["sub"]}], "required": "all"}
        ],
        "required_duration": {"minutes": 30},
        "query_periods": [
            {
                "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (start + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ],
        "include_member_statuses": True,
    }
    console.print(f"\nCalDAV server (Radicale): {radicale_url}   demo files: {folder}")
    console.print(f"API: {api}   (OpenAPI at {api}/docs)\n")
    console.print(f"Web pages (Your Profile): {setup['sign_in_url']}", soft_wrap=True)
    console.print(f"  sign in as alice@example.com or bob@example.com, password '{DEMO_PASSWORD}'")
    console.print(
        f"Operator view: {setup['operator_url']}   (password '{DEMO_OPERATOR_PASSWORD}')\n",
        soft_wrap=True,
    )
    console.print("Alice's calendars (her account token):")
    console.print(
        f"  curl -s -H 'Authorization: Bearer {alice['access_token']}' {api}/v1/calendars",
        soft_wrap=True,
    )
    console.print("When are Alice and Bob both free? (the application's API key):")
    console.print(
        f"  curl -s -H 'Authorization: Bearer {setup['api_key']}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(query)}' {api}/v1/availability",
        soft_wrap=True,
    )
    console.print(
        "\nAdd or change an event in Radicale and it appears here within the poll interval "
        f"({int(settings.poll_interval)} s). Press Ctrl-C to stop."
    )


def _wait(duration: float | None, stop: threading.Event | None) -> None:
    """Until ``duration`` passes or ``stop`` is set; polls, as signal handlers require."""
    stop = stop or threading.Event()
    deadline = None if duration is None else time.monotonic() + duration
    while not stop.is_set():
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return
        stopped_after(stop, min(0.5, remaining) if remaining is not None else 0.5)
