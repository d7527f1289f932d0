"""Issue 15, defect 4: ``kill -9`` during a CalDAV full sync, events deleted at the server
meanwhile, restart: the store equals the server.

A CalDAV full sync cannot resume from a page (sync-collection hands out one token, at
the end), so the restart starts the full sync again; it must still drop every row the
interrupted run stored that the server no longer has.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from syncd.radicale_server import RadicaleServer, seed_calendar_files
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Event, Occurrence, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

pytestmark = [pytest.mark.store, pytest.mark.slow]

USER = "killed"
EVENTS = 4000  # eight pages of the adapter's 500
START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(6), dt.UTC)


def _ics(uid: str, index: int) -> str:
    start = START + dt.timedelta(minutes=30 * index)
    end = start + dt.timedelta(minutes=20)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RadicaleServer]:
    items = [(f"ev{i:05d}", _ics(f"ev{i:05d}", i)) for i in range(EVENTS)]
    seed_calendar_files(tmp_path / "storage", USER, "work", items, display_name="Work")
    with RadicaleServer(tmp_path / "storage") as running:
        yield running


def _stored(engine: Engine) -> set[str]:
    with Session(engine) as session:
        hrefs = session.execute(select(Event.provider_event_id)).scalars()
        return {href.rsplit("/", 1)[-1].removesuffix(".ics") for href in hrefs}


def test_kill_9_mid_full_sync_then_deletions_then_restart_leaves_the_server_s_events(
    database_url: str, engine: Engine, box: SecretBox, secret_key: str, server: RadicaleServer
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "kill9").application
        account = create_account(session, application.id, f"{USER}@example.com", timezone="Etc/UTC")
        credentials = {"url": server.url + "/", "username": USER, "password": "x"}
        profile_id = create_profile(session, box, account, "caldav", USER, credentials).id
    environment = {
        **os.environ,
        "SYNCD_DATABASE_URL": database_url,
        "SYNCD_SECRET_KEYS": secret_key,
    }
    command = [sys.executable, "-m", "syncd", "sync", "--once", "--json"]
    victim = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _stored(engine):
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    partial = _stored(engine)
    assert 0 < len(partial) < EVENTS, "the kill must land between two page commits"

    gone = sorted(partial)[:3]  # stored by the killed run, then deleted at the server
    calendar_url = server.calendar_url(USER, "work")
    history = server.storage_folder / "collection-root" / USER / "work" / ".Radicale.cache"
    for uid in gone:
        server.delete_event(calendar_url, uid)
        # Radicale would still list the deletion to an initial sync from its history;
        # Xandikos and most servers do not (nor Radicale once its history expires).
        (history / "history" / f"{uid}.ics").unlink(missing_ok=True)
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr

    expected = {f"ev{i:05d}" for i in range(EVENTS)} - set(gone)
    assert _stored(engine) == expected
    with Session(engine) as session:
        occurrences = session.execute(select(func.count()).select_from(Occurrence)).scalar()
        profile = session.get(Profile, profile_id)
        assert profile is not None and profile.sync_status == "active"
    assert occurrences == len(expected)
