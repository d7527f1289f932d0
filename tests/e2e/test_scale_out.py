"""Several daemons on one database, run as real ``syncd run`` processes.

On Postgres any number of daemons share the profiles through leases: every profile is
synced, never by two daemons at once (read back from the ``sync_run`` log), and a daemon
killed with SIGKILL loses its profiles to the others once its leases expire. On SQLite a
second daemon refuses to start. SIGTERM stops a daemon between two pages.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine, upgrade_schema
from syncd.store.models import Calendar, Event, Profile, SyncRun, utcnow
from syncd.sync.leases import claim_due_profiles, renew_leases
from tests.emulators.google import Fault, GoogleCalendarEmulator
from tests.support.fleet import (
    Daemon,
    RunLog,
    daemon_environment,
    insert_profiles,
    seed_users,
    start_daemon,
    wait_for,
)
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def emulator() -> Iterator[GoogleCalendarEmulator]:
    with GoogleCalendarEmulator() as running:
        yield running


@pytest.fixture
def pg_engine(postgres_schema_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_schema_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def stop_all(daemons: list[Daemon]) -> list[int]:
    for daemon in daemons:
        if daemon.process.poll() is None:
            daemon.process.send_signal(signal.SIGTERM)
    return [daemon.process.wait(60) for daemon in daemons]


def leases_of(engine: Engine, daemon: Daemon) -> set[str]:
    """Profiles whose lease is held by ``daemon`` (worker ids embed the pid)."""
    with engine.connect() as connection:
        return set(
            connection.execute(
                select(Profile.id).where(Profile.lease_owner.like(f"%:{daemon.pid}:%"))  # type: ignore[union-attr]
            ).scalars()
        )


def test_two_daemons_share_every_profile_and_never_sync_one_at_the_same_time(
    tmp_path: Path,
    pg_engine: Engine,
    postgres_schema_url: str,
    emulator: GoogleCalendarEmulator,
    secret_key: str,
    box: SecretBox,
) -> None:
    profiles = insert_profiles(pg_engine, box, seed_users(emulator, 240, events=3))
    # Short polls so each profile is claimed again and again while both daemons compete.
    environment = daemon_environment(
        postgres_schema_url, secret_key, emulator,
        poll_interval=3, poll_jitter=0.5, lease_seconds=30, workers=4,
    )  # fmt: skip
    daemons = [start_daemon(environment, tmp_path / f"daemon{i}.log") for i in range(2)]
    try:
        wait_for(
            lambda: (
                len(RunLog.read(pg_engine).runs) >= 2 * len(profiles)
                and RunLog.read(pg_engine).synced_profiles() == set(profiles)
            ),
            timeout=90,
            message="every profile synced, most of them twice",
        )
    finally:
        statuses = stop_all(daemons)
    assert statuses == [0, 0], [daemon.log_text()[-2000:] for daemon in daemons]

    log = RunLog.read(pg_engine)
    assert log.synced_profiles() == set(profiles)
    assert log.overlaps() == []
    assert len(log.workers()) == 2, "both daemons took a share of the work"
    assert all(run.finished_at is not None for run in log.runs), "no run left half-done"
    with pg_engine.connect() as connection:
        held = connection.execute(
            select(func.count()).where(Profile.lease_owner.is_not(None))  # type: ignore[union-attr]
        ).scalar_one()
    assert held == 0, "a clean stop releases every lease"


def test_four_daemons_take_over_the_profiles_of_one_killed_mid_run_within_the_lease_time(
    tmp_path: Path,
    pg_engine: Engine,
    postgres_schema_url: str,
    emulator: GoogleCalendarEmulator,
    secret_key: str,
    box: SecretBox,
) -> None:
    profiles = insert_profiles(pg_engine, box, seed_users(emulator, 300, events=2))
    # Slow answers keep every daemon busy with leased profiles when one is killed.
    emulator.inject(Fault.delay(0.15), times=100_000)
    lease_seconds = 4.0
    environment = daemon_environment(
        postgres_schema_url, secret_key, emulator,
        poll_interval=3600, lease_seconds=lease_seconds, workers=4,
    )  # fmt: skip
    daemons = [start_daemon(environment, tmp_path / f"daemon{i}.log") for i in range(4)]
    victim = daemons[0]
    try:
        wait_for(lambda: len(leases_of(pg_engine, victim)) >= 2, 60, "the victim holds leases")
        orphaned = leases_of(pg_engine, victim)
        victim.kill()
        assert victim.killed_at is not None
        wait_for(
            lambda: RunLog.read(pg_engine).synced_profiles() == set(profiles),
            timeout=90,
            message="every profile synced, the victim's included",
        )
    finally:
        statuses = stop_all(daemons[1:])
    assert statuses == [0, 0, 0]

    log = RunLog.read(pg_engine)
    assert log.overlaps() == []
    victim_workers = {run.worker for run in log.runs if f":{victim.pid}:" in run.worker}
    for profile_id in orphaned:
        runs = [run for run in log.runs if run.profile_id == profile_id]
        takeover = next(run for run in runs if run.worker not in victim_workers)
        assert takeover.outcome == "ok"
        # Nobody touched it while the dead daemon's lease was valid...
        assert takeover.started_at >= victim.killed_at - dt.timedelta(seconds=0.5)
        # ...and it was taken over as soon as the lease ran out, ahead of the backlog of
        # untouched profiles (the slack covers dispatch ticks on a loaded CI machine).
        waited = (takeover.started_at - victim.killed_at).total_seconds()
        assert waited <= lease_seconds + 5, waited
    survivors_log = "".join(daemon.log_text() for daemon in daemons[1:])
    assert survivors_log.count("took over profile") >= len(orphaned)


def test_sigterm_stops_between_pages_and_a_restart_resumes_from_the_last_committed_page(
    tmp_path: Path, emulator: GoogleCalendarEmulator, secret_key: str, box: SecretBox
) -> None:
    database_url = f"sqlite:///{tmp_path / 'syncd.db'}"
    engine = make_engine(database_url)
    upgrade_schema(engine)
    [grant] = seed_users(emulator, 1, events=5200)  # Google pages hold 2,500 events
    [profile_id] = insert_profiles(engine, box, [grant])
    emulator.inject(Fault.delay(1.5), times=3, path_prefix="/calendar/v3/calendars/")
    environment = daemon_environment(database_url, secret_key, emulator, poll_interval=3600)

    daemon = start_daemon(environment, tmp_path / "first.log")
    wait_for(lambda: count_events(engine) > 0, 60, "the first page committed")
    assert daemon.terminate(timeout=30) == 0, daemon.log_text()[-2000:]

    assert count_events(engine) == 2500, "exactly the committed page, nothing of the next"
    with engine.connect() as connection:
        run = connection.execute(select(SyncRun)).one()
        profile = connection.execute(select(Profile)).one()
        calendar = connection.execute(select(Calendar)).one()
    assert (run.outcome, run.pages) == ("stopped", 1)
    assert run.finished_at is not None
    assert profile.lease_owner is None and profile.sync_status == "pending"
    assert calendar.sync_cursor is not None and calendar.full_sync_in_progress

    emulator.requests.clear()
    restarted = start_daemon(environment, tmp_path / "second.log")
    try:
        wait_for(lambda: profile_status(engine, profile_id) == "active", 60, "sync completed")
    finally:
        assert restarted.terminate() == 0
    assert count_events(engine) == 5200
    first_page_request = next(r for r in emulator.requests if r.path.endswith("/events"))
    assert "pageToken" in first_page_request.query, (
        "the restart continued from the stored page token instead of starting over"
    )


def count_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Event)).scalar_one())


def profile_status(engine: Engine, profile_id: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(Profile.sync_status).where(Profile.id == profile_id)
            ).scalar_one()
        )


def test_a_second_daemon_on_the_same_sqlite_database_exits_with_a_clear_message(
    tmp_path: Path, emulator: GoogleCalendarEmulator, secret_key: str
) -> None:
    environment = daemon_environment(f"sqlite:///{tmp_path / 'syncd.db'}", secret_key, emulator)
    first = start_daemon(environment, tmp_path / "first.log")
    try:
        wait_for(lambda: "started with" in first.log_text(), 60, "the first daemon runs")
        second = subprocess.run(
            [sys.executable, "-m", "syncd", "run", "--no-api"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
        )
    finally:
        assert first.terminate() == 0
    assert second.returncode == 2
    assert "another syncd daemon is already running" in second.stderr
    assert "use Postgres to run several" in second.stderr


def test_a_live_daemon_renews_its_leases_so_a_slow_run_is_never_taken_over(
    engine: Engine, box: SecretBox
) -> None:
    insert_profiles(engine, box, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    [mine] = claim_due_profiles(engine, "live", 1, lease_seconds=60)
    [theirs] = claim_due_profiles(engine, "other", 1, lease_seconds=60)
    with engine.begin() as connection:  # both runs outlast their leases...
        connection.execute(
            update(Profile).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert renew_leases(engine, "live", lease_seconds=60) == 1  # ...but "live" heartbeats
    # "other" stopped renewing (dead): its profile is claimable, the live one's is not.
    assert claim_due_profiles(engine, "third", 10, lease_seconds=60) == [theirs]
