"""Scale-out benchmark: N daemons (``syncd run`` processes) on one Postgres, many profiles.

    .venv/bin/python -m bench.scale                      # 10,000 profiles; 1, 2, 4 daemons
    .venv/bin/python -m bench.scale --smoke              # 200 profiles; 1, 2 daemons (CI)
    .venv/bin/python -m bench.scale --profiles 2000 --daemons 1 2 --window 30

Set-up (never timed): the Google emulator runs in its own process holding one user per
profile, each with one small calendar (3 events); every daemon count gets a fresh
Postgres schema with the same profiles, all due, so each measures first syncs of the
same work. Figures:

(a) profile syncs per minute with 1, 2, 4 daemons (4 workers each): ``ok`` runs finished
    inside a window that opens once every daemon has started and warmed up; target:
    2 daemons >= 1.7 x one;
(b) peak RSS of each daemon (VmHWM); target <= 300 MB;
(c) scheduler overhead per due profile: the claim statement (``claim_due_profiles``)
    timed against the full table of due profiles, per profile claimed;
(d) database statements per profile sync: every statement of ``sync_profile`` counted
    with a SQLAlchemy hook over a sample of profiles, plus the claim.

Needs Postgres: ``SYNCD_TEST_DATABASE_URL`` (default: the CI server on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text, update

from bench.common import REPO_ROOT, machine_line
from syncd.config import OAuthProviderSettings, load_settings
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, upgrade_schema
from syncd.store.models import Profile, SyncRun, utcnow
from syncd.sync.leases import claim_due_profiles, release_leases
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.google import Fault, GoogleCalendarEmulator
from tests.support.fleet import Daemon, insert_profiles, seed_users, start_daemon, wait_for

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EVENTS_PER_CALENDAR = 3
WORKERS = 4
RSS_TARGET_MB = 300
SPEEDUP_TARGET = 1.7


@dataclass
class EmulatorInfo:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    grants: list[dict[str, Any]]


@contextmanager
def emulator_process(users: int, latency: float = 0.0) -> Iterator[EmulatorInfo]:
    """The Google emulator in a child process, seeded with ``users`` users, answering
    every API request after ``latency`` seconds (a real provider's round trip)."""
    with tempfile.TemporaryDirectory() as folder:
        grants_file = Path(folder) / "grants.json"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.scale",
                "serve-emulator",
                str(users),
                str(grants_file),
                str(latency),
            ],  # fmt: skip
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the emulator exited with {process.wait()}")
            info = json.loads(line)
            yield EmulatorInfo(**info, grants=json.loads(grants_file.read_text()))
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _serve_emulator(users: int, grants_path: str, latency: float) -> None:
    with GoogleCalendarEmulator() as emulator:
        grants = seed_users(emulator, users, EVENTS_PER_CALENDAR)
        if latency > 0:
            emulator.inject(Fault.delay(latency), times=users * 40)
        emulator.requests = _Discard()  # type: ignore[assignment]  # no growing request log
        Path(grants_path).write_text(json.dumps(grants))
        print(
            json.dumps(
                {
                    "base_url": emulator.base_url,
                    "token_url": emulator.token_url,
                    "client_id": emulator.client_id,
                    "client_secret": emulator.client_secret,
                }
            ),
            flush=True,
        )
        sys.stdin.read()


class _Discard(list):  # type: ignore[type-arg]
    def append(self, _item: Any) -> None:
        pass


@contextmanager
def fresh_schema(base_url: str) -> Iterator[tuple[str, Engine]]:
    schema = f"bench_{secrets.token_hex(5)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade_schema(engine)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def environment_for(url: str, key: str, emulator: EmulatorInfo) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    environment.update(
        {
            "SYNCD_DATABASE_URL": url,
            "SYNCD_SECRET_KEYS": key,
            "SYNCD_GOOGLE__API_BASE_URL": emulator.base_url,
            "SYNCD_GOOGLE__TOKEN_URL": emulator.token_url,
            "SYNCD_GOOGLE__CLIENT_ID": emulator.client_id,
            "SYNCD_GOOGLE__CLIENT_SECRET": emulator.client_secret,
            "SYNCD_WORKERS": str(WORKERS),
            "SYNCD_POLL_INTERVAL": "86400",
            "SYNCD_LEASE_SECONDS": "120",
            "SYNCD_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return environment


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Throughput:
    daemons: int
    syncs: int
    seconds: float
    rss_mb: list[float]
    failed: int
    cpu_seconds: float

    @property
    def per_minute(self) -> float:
        return self.syncs / self.seconds * 60


def measure(
    base_url: str, emulator: EmulatorInfo, daemons: int, window: float, warmup: float
) -> Throughput:
    key = generate_key()
    with fresh_schema(base_url) as (url, engine):
        insert_profiles(engine, SecretBox([key]), emulator.grants)
        with tempfile.TemporaryDirectory() as folder:
            environment = environment_for(url, key, emulator)
            running: list[Daemon] = [
                start_daemon(environment, Path(folder) / f"d{i}.log") for i in range(daemons)
            ]
            try:
                wait_for(
                    lambda: (
                        all(d.process.poll() is None for d in running)
                        and _workers_seen(engine) >= daemons
                    ),
                    120,
                    "every daemon syncing",
                )
                time.sleep(warmup)
                opened = utcnow()
                cpu_before = sum(cpu_seconds(d.pid) for d in running)
                time.sleep(window)
                closed = utcnow()
                cpu = sum(cpu_seconds(d.pid) for d in running) - cpu_before
                rss = [peak_rss_mb(d.pid) for d in running]
            finally:
                for daemon in running:
                    daemon.terminate(60)
            with engine.connect() as connection:
                finished = SyncRun.finished_at.between(opened, closed)  # type: ignore[union-attr]
                ok = connection.execute(
                    select(func.count()).where(finished, SyncRun.outcome == "ok")
                ).scalar_one()
                failed = connection.execute(
                    select(func.count()).where(finished, SyncRun.outcome != "ok")
                ).scalar_one()
    seconds = (closed - opened).total_seconds()
    return Throughput(daemons, int(ok), seconds, rss, int(failed), cpu)


def _workers_seen(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count(func.distinct(SyncRun.worker)))).scalar())


def scheduler_overhead(base_url: str, emulator: EmulatorInfo, rounds: int) -> dict[str, float]:
    """Milliseconds per claimed profile of the claim statement with every profile due."""
    key = generate_key()
    figures = {}
    with fresh_schema(base_url) as (_url, engine):
        insert_profiles(engine, SecretBox([key]), emulator.grants)
        with engine.begin() as connection:
            connection.execute(text("ANALYZE profile"))
        for batch in (1, WORKERS):
            timings = []
            for _ in range(rounds):
                started = time.perf_counter()
                claimed = claim_due_profiles(engine, "bench", batch, 60)
                timings.append((time.perf_counter() - started) / max(1, len(claimed)))
                release_leases(engine, "bench")
            figures[f"claim of {batch}"] = statistics.median(timings) * 1000
    return figures


def statements_per_sync(base_url: str, emulator: EmulatorInfo, sample: int) -> tuple[float, float]:
    """Database statements of one first sync and one no-change sync of a profile (+1 claim)."""
    key = generate_key()
    settings = load_settings(
        secret_keys=[key],
        log_level="WARNING",
        google=OAuthProviderSettings(
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            api_base_url=emulator.base_url,
            token_url=emulator.token_url,
        ),
    )
    with fresh_schema(base_url) as (_url, engine):
        ids = insert_profiles(engine, SecretBox([key]), emulator.grants[:sample])
        context = SyncContext(engine, settings, SecretBox([key]), worker_id="bench")
        counted = [0]

        def count(*_args: Any) -> None:
            counted[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        results = []
        for _ in ("first", "no-change"):
            counted[0] = 0
            for profile_id in ids:
                claim_due_profiles(engine, "bench", 1, 60)
                outcome = sync_profile(context, profile_id)
                if outcome.outcome != "ok":
                    raise RuntimeError(f"sync failed: {outcome.detail}")
            results.append(counted[0] / len(ids))
            with engine.begin() as connection:
                connection.execute(update(Profile).values(next_due_at=utcnow()))
        event.remove(engine, "before_cursor_execute", count)
    return results[0], results[1]


def report_costs(base_url: str, emulator: EmulatorInfo, smoke: bool) -> None:
    """Figures (c) and (d)."""
    overhead = scheduler_overhead(base_url, emulator, rounds=5 if smoke else 50)
    for name, ms in overhead.items():
        print(f"(c) scheduler overhead, {name}: {ms:.2f} ms per due profile")
    first, again = statements_per_sync(base_url, emulator, 5 if smoke else 50)
    print(
        f"(d) database statements per profile sync (with its claim): first {first:.1f}, "
        f"no-change {again:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=None, help="default 10000")
    parser.add_argument("--daemons", type=int, nargs="+", default=None, help="default 1 2 4")
    parser.add_argument("--window", type=float, default=None, help="seconds measured (60)")
    parser.add_argument("--smoke", action="store_true", help="200 profiles, 1 and 2 daemons")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the emulator waits per request"
    )
    parser.add_argument("--skip-costs", action="store_true", help="only throughput and RSS")
    options = parser.parse_args(argv)
    profiles = options.profiles or (200 if options.smoke else 10_000)
    counts = options.daemons or ([1, 2] if options.smoke else [1, 2, 4])
    window = options.window or (8.0 if options.smoke else 60.0)
    warmup = 2.0 if options.smoke else 5.0
    base_url = os.environ.get("SYNCD_TEST_DATABASE_URL", DEFAULT_POSTGRES)

    print(machine_line())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with emulator_process(profiles, options.latency) as emulator:
        print(
            f"{profiles} profiles, {EVENTS_PER_CALENDAR} events each, {WORKERS} workers/daemon, "
            f"provider latency {options.latency * 1000:.0f} ms"
        )
        if not options.skip_costs:
            report_costs(base_url, emulator, options.smoke)
        results = []
        for daemons in counts:
            result = measure(base_url, emulator, daemons, window, warmup)
            results.append(result)
            rss = ", ".join(f"{mb:.0f}" for mb in result.rss_mb)
            cpu_ms = result.cpu_seconds / max(1, result.syncs) * 1000
            print(
                f"(a) {daemons} daemon(s): {result.per_minute:.0f} profile syncs/min "
                f"({result.syncs} in {result.seconds:.1f} s, {result.failed} not ok); "
                f"(b) peak RSS MB: {rss}; daemon CPU {cpu_ms:.0f} ms "
                f"per sync; load average {os.getloadavg()[0]:.2f}"
            )
    base = results[0].per_minute
    for result in results[1:]:
        print(f"speed-up with {result.daemons} daemons: {result.per_minute / base:.2f}x")
    if len(results) > 1:
        met = results[1].per_minute / base >= SPEEDUP_TARGET
        print(f"target 2 daemons >= {SPEEDUP_TARGET}x one: {'met' if met else 'NOT met'}")
    worst = max(mb for result in results for mb in result.rss_mb)
    print(f"target RSS <= {RSS_TARGET_MB} MB: {'met' if worst <= RSS_TARGET_MB else 'NOT met'}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve-emulator":
        _serve_emulator(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    else:
        main()
