"""Shared plumbing for the end-to-end sync benchmarks (`sync_caldav.py`, `sync_google.py`).

Run benchmarks from the repository root as modules (``python -m bench.sync_caldav``) so
``syncd``, ``providers`` and ``tests.emulators`` all import.

What lives here:

- :class:`Timings` / :func:`repeat_timed` (from ``bench/timing.py``): repeated
  measurements with untimed set-up;
- :func:`count_http_requests`: counts every HTTP request the process makes, through
  ``requests`` (CalDAV adapter, floors) and ``httplib2`` (Google API client);
- :func:`new_store`: a fresh SQLite database with one application, account and profile,
  and the :class:`~syncd.sync.run.SyncContext` to sync it with;
- :func:`profiled`: a cProfile run printing the entries that matter;
- :func:`google_emulator_process`: the Google emulator in its own process (so its
  serving work does not share our GIL), seeded before the benchmark starts.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import httplib2
import requests
from sqlalchemy import Engine, text

from bench.google_samples import seed_google_events
from bench.timing import Timings
from syncd.config import Settings, load_settings
from syncd.memory import settle_collector
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, SyncOutcome, sync_profile
from tests.emulators.google import GoogleCalendarEmulator

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[1]


def ratio_line(label: str, numerator: Timings, denominator: Timings, target: float) -> str:
    """One figure line comparing medians (and bests), with the target verdict."""
    by_median = numerator.median / denominator.median
    by_best = numerator.best / denominator.best
    verdict = "MET" if by_median <= target else "NOT MET"
    return (
        f"RATIO {label}: {by_median:.2f} (median) / {by_best:.2f} (best); "
        f"target <= {target:.2f}: {verdict}"
    )


def machine_line() -> str:
    """What the figures were measured on, and how loaded the machine is right now."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, {platform.platform(terse=True)}; load average {load}"
    )


# ---------------------------------------------------------------------------
# Peak memory of one full sync, in a process of its own
# ---------------------------------------------------------------------------


def peak_rss_of_sync(
    provider: str, profile_name: str, credentials: dict[str, Any], settings: dict[str, Any]
) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one full sync of a new profile, run in a fresh child
    process, so the figure is the sync's alone (not the benchmark's floor or peer data)."""
    request = {
        "provider": provider,
        "profile_name": profile_name,
        "credentials": credentials,
        "settings": {
            key: value.model_dump() if hasattr(value, "model_dump") else value
            for key, value in settings.items()
        },
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench.common", "sync-rss"],
        cwd=REPO_ROOT,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(answer["peak_rss_mb"]), float(answer["seconds"])


def peak_rss_line(
    provider: str, profile_name: str, credentials: dict[str, Any], settings: dict[str, Any]
) -> str:
    """``RSS syncd full sync peak: 123 MB (one sync in its own process, 1.23 s)``."""
    megabytes, seconds = peak_rss_of_sync(provider, profile_name, credentials, settings)
    return (
        f"RSS syncd full sync peak: {megabytes:.0f} MB (one full sync in a process of its "
        f"own, {seconds:.2f} s); target < 300 MB: {'MET' if megabytes < 300 else 'NOT MET'}"
    )


def _peak_rss_mb() -> float:
    """This process image's peak RSS (``VmHWM``).

    Not ``getrusage``: Linux carries ``ru_maxrss`` across ``exec``, so a child started by
    a big parent reports the parent's size at the fork (the CalDAV benchmark's parent has
    just parsed the whole floor: 452 MB against the sync's own 233 MB at 20,000 events).
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _sync_for_rss() -> None:
    """The child side of :func:`peak_rss_of_sync`: request as JSON on stdin."""
    import tempfile  # noqa: PLC0415

    request = json.loads(sys.stdin.read())
    with tempfile.TemporaryDirectory(prefix="syncd-bench-rss-") as folder:
        store = new_store(
            Path(folder) / "rss.db",
            request["provider"],
            request["profile_name"],
            request["credentials"],
            **request["settings"],
        )
        started = time.perf_counter()
        store.sync()
        seconds = time.perf_counter() - started
        store.close()
    print(json.dumps({"peak_rss_mb": _peak_rss_mb(), "seconds": seconds}))


# ---------------------------------------------------------------------------
# Counting HTTP requests
# ---------------------------------------------------------------------------


@contextmanager
def count_http_requests() -> Iterator[list[str]]:
    """Yield a list that receives ``"METHOD url"`` for every request made inside the block.

    Patches ``requests.Session.request`` (CalDAV adapter, token endpoints via
    requests-oauthlib, the floors) and ``httplib2.Http.request`` (the Google API client
    and google-auth's httplib2 transport).
    """
    made: list[str] = []
    original_session_request = requests.Session.request
    original_httplib2_request = httplib2.Http.request

    def session_request(self: requests.Session, method: str, url: str, *a: Any, **k: Any) -> Any:
        made.append(f"{method} {url}")
        return original_session_request(self, method, url, *a, **k)

    def httplib2_request(
        self: httplib2.Http, uri: str, method: str = "GET", *a: Any, **k: Any
    ) -> Any:
        made.append(f"{method} {uri}")
        return original_httplib2_request(self, uri, method, *a, **k)

    with (
        mock.patch.object(requests.Session, "request", session_request),
        mock.patch.object(httplib2.Http, "request", httplib2_request),
    ):
        yield made


# ---------------------------------------------------------------------------
# A fresh store with one profile
# ---------------------------------------------------------------------------


@dataclass
class SyncStore:
    """A SQLite database holding one profile, and what ``sync_profile`` needs to sync it."""

    engine: Engine
    settings: Settings
    box: SecretBox
    profile_id: str
    context: SyncContext

    def sync(self) -> SyncOutcome:
        """One run of the real engine; raises when the run did not end ``ok``."""
        outcome = sync_profile(self.context, self.profile_id)
        if outcome.outcome != "ok":
            raise RuntimeError(f"sync failed: {outcome.outcome}: {outcome.detail}")
        return outcome

    def close(self) -> None:
        self.engine.dispose()


def new_store(
    database_path: Path,
    provider: str,
    profile_name: str,
    credentials: dict[str, Any],
    **settings_overrides: Any,
) -> SyncStore:
    """A new SQLite file at ``database_path`` with schema, tenant, account and profile."""
    database_path.unlink(missing_ok=True)
    settings = load_settings(
        database_url=f"sqlite:///{database_path}",
        secret_keys=[generate_key()],
        log_level="WARNING",
        **settings_overrides,
    )
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    box = SecretBox(settings.secret_keys)
    with session_scope(engine) as session:
        application = create_application(session, box, "bench").application
        email = profile_name if "@" in profile_name else f"{profile_name}@example.com"
        account = create_account(session, application.id, email, timezone="Europe/Berlin")
        profile_id = create_profile(session, box, account, provider, profile_name, credentials).id
    context = SyncContext(engine, settings, box, worker_id="bench")
    settle_collector()  # as `syncd run` does once it is up
    return SyncStore(engine, settings, box, profile_id, context)


def print_full_sync(store: SyncStore, full: Timings, pages: int, events: int) -> None:
    """The full sync's figure line and what it stored; exits when it is not ``events``."""
    stored_events = count_rows(store, "event")
    print(f"SYNCD full sync (sync_profile into SQLite): {full.describe()}")
    print(
        f"  stored {stored_events} events, {count_rows(store, 'occurrence')} occurrences, "
        f"{pages} pages"
    )
    if stored_events != events:
        raise SystemExit(f"expected {events} stored events, found {stored_events}")


def print_no_change(again: Timings, made: list[list[str]], calendars: int) -> None:
    """The no-change sync's figure line and its requests per calendar (target 1)."""
    per_calendar = max(len(m) for m in made) / max(1, calendars)
    print(f"SYNCD no-change incremental sync: {again.describe()}")
    print(
        f"INCREMENTAL requests per calendar: {per_calendar:g} "
        f"({'; '.join(m.split('?')[0] for m in made[-1])}); target 1: "
        f"{'MET' if per_calendar == 1 else 'NOT MET'}"
    )


def print_profiles(store: SyncStore) -> None:
    """cProfile of a full sync into ``store`` (a new one) and of the no-change sync after
    it; closes the store."""
    _, report = profiled(store.sync)
    print("PROFILE of one syncd full sync (cProfile):")
    print(report)
    _, report = profiled(store.sync, top=12)
    print("PROFILE of one syncd no-change incremental sync (cProfile):")
    print(report)
    store.close()


def count_rows(store: SyncStore, table: str) -> int:
    """Rows in one table of the store (``event``, ``occurrence``)."""

    with store.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


# ---------------------------------------------------------------------------
# Profiling
# ---------------------------------------------------------------------------


def profiled(action: Callable[[], T], top: int = 25) -> tuple[T, str]:
    """Run ``action`` under cProfile; return its result and the top entries by own time
    and by cumulative time (restricted to syncd, providers and the libraries they call)."""
    profiler = cProfile.Profile()
    result = profiler.runcall(action)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    text.write("--- by own time (tottime) ---\n")
    stats.sort_stats("tottime").print_stats(top)
    text.write("--- by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top)
    return result, text.getvalue()


# ---------------------------------------------------------------------------
# The Google emulator in a subprocess
# ---------------------------------------------------------------------------


@dataclass
class EmulatorHandle:
    """What the parent needs from the emulator process."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    calendar_id: str
    grant: dict[str, Any]
    seed_seconds: float


@contextmanager
def google_emulator_process(events: int, calendar_id: str) -> Iterator[EmulatorHandle]:
    """Start ``tests.emulators.google`` in a child process seeded with ``events`` events.

    The child prints one JSON line describing itself and serves until its stdin closes.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.common", "google-emulator", str(events), calendar_id],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited with {process.wait()}")
        yield EmulatorHandle(**json.loads(line))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve_google_emulator(events: int, calendar_id: str) -> None:
    """The child side of :func:`google_emulator_process`."""
    with GoogleCalendarEmulator() as emulator:
        started = time.perf_counter()
        emulator.add_calendar(calendar_id, primary=True, time_zone="Europe/Berlin")
        seed_google_events(emulator, calendar_id, events)
        emulator.requests.clear()
        handle = EmulatorHandle(
            base_url=emulator.base_url,
            token_url=emulator.token_url,
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            calendar_id=calendar_id,
            grant=emulator.issue_grant(),
            seed_seconds=time.perf_counter() - started,
        )
        print(json.dumps(handle.__dict__), flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "google-emulator":
        _serve_google_emulator(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:] == ["sync-rss"]:
        _sync_for_rss()
    else:
        raise SystemExit(
            "usage: python -m bench.common google-emulator EVENTS CALENDAR_ID | sync-rss"
        )
