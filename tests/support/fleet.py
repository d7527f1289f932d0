"""A fleet for scale-out tests and ``bench/scale.py``: many Google profiles, many daemons.

One Google emulator holds every user (one small calendar each); profiles are inserted in
bulk; daemons are real ``syncd run`` subprocesses pointed at the emulator and the shared
database through ``SYNCD_*`` variables, each logging JSON lines to its own file.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from syncd.ids import new_id
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Profile, SyncRun, utcnow
from syncd.store.tenants import create_application
from tests.emulators.google import GoogleCalendarEmulator
from tests.support.paths import REPO_ROOT


def seed_users(emulator: GoogleCalendarEmulator, users: int, events: int) -> list[dict[str, Any]]:
    """``users`` emulator users with one primary calendar of ``events`` events each;
    returns their credentials (as a finished OAuth authorization stores them)."""
    grants = []
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    for index in range(users):
        user = f"user{index:05d}@example.com"
        emulator.add_calendar(user, user=user, primary=True)
        for number in range(events):
            begins = start + dt.timedelta(hours=3 * number + index % 3)
            emulator.put_event(
                user,
                {
                    "id": f"ev{index:05d}n{number:03d}",
                    "summary": f"Meeting {number}",
                    "start": {"dateTime": begins.isoformat()},
                    "end": {"dateTime": (begins + dt.timedelta(minutes=30)).isoformat()},
                },
            )
        grants.append(emulator.issue_grant(user))
    emulator.requests.clear()
    return grants


def insert_profiles(engine: Engine, box: SecretBox, grants: list[dict[str, Any]]) -> list[str]:
    """One application, and an account with a Google profile per grant, due now."""
    now = utcnow()
    with session_scope(engine) as session:
        application_id = create_application(session, box, f"fleet-{new_id('x', 4)}").application.id
    accounts, profiles = [], []
    for grant in grants:
        account = Account(id=new_id("acc"), application_id=application_id, email=grant["email"])
        accounts.append(account.model_dump())
        profile = Profile(
            id=new_id("pro"),
            account_id=account.id,
            provider="google",
            name=grant["email"],
            credentials_encrypted=box.encrypt(grant),
            next_due_at=now,
        )
        profiles.append(profile.model_dump())
    with session_scope(engine) as session:
        for chunk in range(0, len(accounts), 1000):
            session.execute(insert(Account), accounts[chunk : chunk + 1000])
            session.execute(insert(Profile), profiles[chunk : chunk + 1000])
    return [row["id"] for row in profiles]


def daemon_environment(
    database_url: str,
    secret_key: str,
    emulator: GoogleCalendarEmulator,
    **settings: Any,
) -> dict[str, str]:
    """Environment for a ``syncd run`` subprocess; ``settings`` become ``SYNCD_<KEY>``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SYNCD_") and key not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")
    }
    environment.update(
        {
            "SYNCD_DATABASE_URL": database_url,
            "SYNCD_SECRET_KEYS": secret_key,
            "SYNCD_GOOGLE__API_BASE_URL": emulator.base_url,
            "SYNCD_GOOGLE__TOKEN_URL": emulator.token_url,
            "SYNCD_GOOGLE__CLIENT_ID": emulator.client_id,
            "SYNCD_GOOGLE__CLIENT_SECRET": emulator.client_secret,
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    environment.update({f"SYNCD_{key.upper()}": str(value) for key, value in settings.items()})
    return environment


@dataclass
class Daemon:
    """One ``syncd run --no-api`` subprocess and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path
    killed_at: dt.datetime | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no chance to release anything (a crashed machine)."""
        self.killed_at = utcnow()
        self.process.kill()
        self.process.wait(10)


def start_daemon(
    environment: dict[str, str],
    log_path: Path,
    *args: str,
    extra_env: dict[str, str] | None = None,
    api_port: int | None = None,
) -> Daemon:
    """``syncd run --no-api``, or with ``api_port`` the API too (on 127.0.0.1)."""
    api = ["--host", "127.0.0.1", "--port", str(api_port)] if api_port else ["--no-api"]
    handle = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", *api, *args],
        env={**environment, **(extra_env or {})},
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    handle.close()
    return Daemon(process, log_path)


@dataclass
class Run:
    profile_id: str
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str


@dataclass
class RunLog:
    """The ``sync_run`` table, read back for assertions."""

    runs: list[Run] = field(default_factory=list)

    @classmethod
    def read(cls, engine: Engine) -> RunLog:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    SyncRun.profile_id,
                    SyncRun.worker,
                    SyncRun.started_at,
                    SyncRun.finished_at,
                    SyncRun.outcome,
                ).order_by(SyncRun.started_at)  # type: ignore[arg-type]
            ).all()
        return cls([Run(*row) for row in rows])

    def synced_profiles(self) -> set[str]:
        return {run.profile_id for run in self.runs if run.outcome == "ok"}

    def workers(self) -> set[str]:
        return {run.worker for run in self.runs}

    def overlaps(self) -> list[tuple[Run, Run]]:
        """Pairs of runs of one profile whose time spans intersect. An unfinished run
        (its daemon was killed) counts as running until the next run of the profile
        started, which is therefore never an overlap: the lease made that one wait."""
        by_profile: dict[str, list[Run]] = {}
        for run in self.runs:
            by_profile.setdefault(run.profile_id, []).append(run)
        found = []
        for runs in by_profile.values():
            runs.sort(key=lambda run: run.started_at)
            for earlier, later in zip(runs, runs[1:], strict=False):
                if earlier.finished_at is not None and later.started_at < earlier.finished_at:
                    found.append((earlier, later))
        return found


def wait_for(
    condition: Callable[[], bool], timeout: float, message: str, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {message}")
        time.sleep(interval)
