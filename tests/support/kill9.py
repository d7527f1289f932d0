"""What the kill -9 tests share: a CalDAV calendar big enough to sync in several pages,
and ``syncd sync --once`` killed with SIGKILL between two page commits."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:
    from sqlalchemy import Engine

from syncd.radicale_server import RadicaleServer, seed_calendar_files
from syncd.store.db import read_only

__all__ = [
    "EVENTS",
    "USER",
    "SyncCommand",
    "any_event_stored",
    "kill_after_a_page",
    "large_calendar_server",
]

USER = "killed"
#: Twenty pages of the adapter's 500: with the fast CalDAV reader and pages fetched ahead,
#: eight pages committed before the poll below could see the first one.
EVENTS = 10_000
#: How long the first page may take on a busy CI machine (three test workers, 2 cores).
KILL_DEADLINE_SECONDS = 300
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
def large_calendar_server(tmp_path: Path) -> Iterator[RadicaleServer]:
    """Radicale serving ``USER``'s calendar ``work`` with ``EVENTS`` events ``ev00000``…"""
    items = [(f"ev{i:05d}", _ics(f"ev{i:05d}", i)) for i in range(EVENTS)]
    seed_calendar_files(tmp_path / "storage", USER, "work", items, display_name="Work")
    with RadicaleServer(tmp_path / "storage") as running:
        # Radicale parses every item on its first read (tens of seconds for 10,000 on a
        # busy machine): done here, so the sync under test is not timed against it.
        warm = requests.request(
            "PROPFIND",
            running.calendar_url(USER, "work"),
            headers={"Depth": "1"},
            auth=(USER, "x"),
            timeout=600,
        )
        warm.raise_for_status()
        yield running


class SyncCommand:
    """``syncd sync --once`` as a child process on the test's database and key."""

    def __init__(self, database_url: str, secret_key: str) -> None:
        self.command = [sys.executable, "-m", "syncd", "sync", "--once", "--json"]
        self.environment = {
            **os.environ,
            "SYNCD_DATABASE_URL": database_url,
            "SYNCD_SECRET_KEYS": secret_key,
        }

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command, env=self.environment, capture_output=True, text=True, timeout=300
        )


def any_event_stored(engine: Engine) -> bool:
    """A cheap poll (one indexed row, no ORM) for :func:`kill_after_a_page`.

    A read-only transaction (plain BEGIN on SQLite): the engine's default BEGIN
    IMMEDIATE would queue for the write lock, which the victim, committing batch after
    batch, hardly ever lets go: the poll then saw nothing until all 10,000 were stored.
    """
    with read_only(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # a poll never queues behind the victim's writes (the engine waits 30 s)
            connection.exec_driver_sql("PRAGMA busy_timeout=20")
        try:
            return connection.exec_driver_sql("SELECT 1 FROM event LIMIT 1").first() is not None
        except OperationalError:  # busy: look again on the next poll
            return False
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA busy_timeout=30000")


def kill_after_a_page(sync: SyncCommand, page_committed: Callable[[], object]) -> None:
    """Start the sync and SIGKILL it as soon as ``page_committed()`` is truthy.

    Fails, saying why, when the sync exits first or commits nothing within the deadline
    (instead of killing it anyway and leaving the test to puzzle over an empty store).
    """
    with tempfile.TemporaryFile() as errors:
        victim = subprocess.Popen(
            sync.command, env=sync.environment, stdout=subprocess.DEVNULL, stderr=errors
        )
        deadline = time.monotonic() + KILL_DEADLINE_SECONDS
        while not page_committed():
            if victim.poll() is not None:
                errors.seek(0)
                raise AssertionError(
                    f"the sync exited ({victim.returncode}) before a page was seen committed: "
                    f"{errors.read().decode(errors='replace')[-2000:]}"
                )
            if time.monotonic() > deadline:
                victim.kill()
                victim.wait(10)
                raise AssertionError(f"no page committed within {KILL_DEADLINE_SECONDS} s")
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
