"""Events and conferencing benchmark (issue 5): 202 → ``conferencing_assigned`` latency.

``N`` managed events with ``conferencing: {"profile_id": "default"}`` (8x8) and a
``conferencing_assigned`` subscription are upserted concurrently through the HTTP API;
the daemon writes them to the Google emulator and delivers the webhooks to a local
receiver. Measured per event: the time from the API's 202 to the webhook's arrival at
the receiver; and the upsert throughput.

Run from the repository root::

    python -m bench.conferencing                      # 200 events, SQLite
    python -m bench.conferencing --postgres URL       # the same on Postgres
    python -m bench.conferencing --smoke              # 10 events (the CI smoke size)
    python -m bench.conferencing --api-process        # the API in `syncd serve` apart

Layouts: by default one ``syncd run`` subprocess serves the API and does the work (the
SQLite default); ``--api-process`` serves the API from a ``syncd serve`` process beside
a ``syncd run --no-api`` daemon (compose.yaml's layout on Postgres); ``--separate-api``
serves it from this process. The emulators and the receiver share this process. Figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, upgrade_schema
from tests.support.conferencing_live import (
    GOOGLE_CALENDAR,
    LiveWorld,
    emulator_environment,
    live_world,
    wait_for,
)
from tests.support.fleet import daemon_environment, start_daemon
from tests.support.webhook_receiver import free_port

TARGET_P99_SECONDS = 2.0


class StampedArrivals(list[Any]):
    """The receiver's ``accepted`` list, noting when each event's webhook arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}
        self._lock = threading.Lock()

    def append(self, item: Any) -> None:
        stamp = time.monotonic()
        event_id = json.loads(item.body)["event"]["event_id"]
        with self._lock:
            self.arrived.setdefault(event_id, stamp)
        super().append(item)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def upsert_all(
    world: LiveWorld, api_url: str, count: int, concurrency: int, prefix: str = "bench"
) -> tuple[dict[str, float], float]:
    """Send every upsert; returns when each got its 202, and the wall time."""
    url = f"{api_url}/v1/calendars/{world.google_calendar}/events"
    headers = {"Authorization": f"Bearer {world.token}"}
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    local = threading.local()
    accepted: dict[str, float] = {}

    def one(number: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        begins = start + dt.timedelta(minutes=30 * number)
        body = {
            "event_id": f"{prefix}-{number}",
            "summary": f"Bench {number}",
            "start": begins.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (begins + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tzid": "Etc/UTC",
            "conferencing": {"profile_id": "default"},
            "subscriptions": [
                {
                    "type": "webhook",
                    "uri": world.receiver.url(),
                    "interactions": [{"type": "conferencing_assigned"}],
                }
            ],
        }
        response = session.post(url, headers=headers, json=body, timeout=30)
        accepted[body["event_id"]] = time.monotonic()
        if response.status_code != 202:
            raise RuntimeError(f"upsert answered {response.status_code}: {response.text[:200]}")

    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return accepted, time.monotonic() - began


def run(
    database_url: str,
    label: str,
    count: int,
    concurrency: int,
    folder: Path,
    daemon_settings: dict[str, str],
    separate_api: bool,
    timeline: bool = False,
    warmup: int = 0,
    floor: bool = False,
    api_process: bool = False,
) -> None:
    key = generate_key()
    engine = make_engine(database_url)
    upgrade_schema(engine)
    box = SecretBox([key])
    with live_world(engine, database_url, key, box, serve=separate_api, run_daemon=False) as world:
        arrivals = StampedArrivals()
        world.receiver.accepted = arrivals
        env = daemon_environment(
            database_url, key, world.google, log_level="WARNING", **daemon_settings
        )
        env |= emulator_environment(world.google, world.graph, world.zoom, world.goto)
        port = None if separate_api else free_port()
        server: subprocess.Popen[bytes] | None = None
        if api_process:
            # The API in a `syncd serve` process of its own; the daemon only writes and
            # delivers (each has a GIL of its own).
            server = subprocess.Popen(
                [sys.executable, "-m", "syncd", "serve", "--host", "127.0.0.1"]
                + ["--port", str(port)],
                env=env,
                stdout=(folder / f"serve-{label}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        daemon = start_daemon(
            env, folder / f"daemon-{label}.log", api_port=None if api_process else port
        )
        try:
            if port is None:
                assert world.server is not None
                api_url = world.server.url
            else:
                api_url = f"http://127.0.0.1:{port}"
                wait_for(lambda: _ready(api_url), 60, "the daemon's API")
            time.sleep(2.0)  # let the daemon start and finish its first sync pass
            if warmup:
                # Not timed: the first requests of a new process compile its statements.
                upsert_all(world, api_url, warmup, min(warmup, concurrency), prefix="warm")
                wait_for(lambda: len(arrivals.arrived) >= warmup, 60, "the warm-up webhooks")
            api_before = cpu_seconds(server.pid) if server is not None else 0.0
            cpu_before = cpu_seconds(daemon.pid), time.process_time()
            accepted, wall = upsert_all(world, api_url, count, concurrency)
            wait_for(lambda: len(arrivals.arrived) >= count + warmup, 120, f"{count} webhooks")
            drained = time.monotonic()
            daemon_cpu = cpu_seconds(daemon.pid) - cpu_before[0]
            bench_cpu = time.process_time() - cpu_before[1]
            api_cpu = cpu_seconds(server.pid) - api_before if server is not None else 0.0
        finally:
            daemon.terminate()
            if server is not None:
                server.terminate()
                server.wait(30)
        latencies = [arrivals.arrived[e] - accepted[e] for e in accepted]
        first = min(accepted.values())
        print(
            f"UPSERT {label}: {count} events, concurrency {concurrency}: "
            f"{count / wall:.1f} upserts/s (202s in {wall:.2f} s)"
        )
        p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
        print(
            f"WEBHOOK {label} 202 -> conferencing_assigned: p50 {p50:.0f} ms, "
            f"p95 {p95:.0f} ms, p99 {p99:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
            f"mean {statistics.mean(latencies) * 1000:.0f} ms"
        )
        print(
            f"DRAIN {label}: all {count} webhooks {drained - first:.2f} s after the first 202 "
            f"({count / (drained - first):.1f} events/s end to end)"
        )
        print(
            f"CPU {label}: daemon {daemon_cpu * 1000 / count:.1f} ms per event, "
            + (f"API process {api_cpu * 1000 / count:.1f} ms, " if server is not None else "")
            + "this process "
            f"(clients, emulator, receiver{', API' if separate_api else ''}) "
            f"{bench_cpu * 1000 / count:.1f} ms per event; load average {load_average()}"
        )
        if timeline:
            measured = {event: arrivals.arrived[event] for event in accepted}
            print_timeline(label, accepted, measured, first)
        if floor:
            floor_latencies = measure_floor(world, arrivals, count, concurrency, warmup, folder)
            f50, f99 = (percentile(floor_latencies, f) * 1000 for f in (0.50, 0.99))
            print(
                f"FLOOR {label} (same I/O, no database or framework, own process): "
                f"p50 {f50:.0f} ms, p99 {f99:.0f} ms; syncd p99 / floor p99 "
                f"{p99 / f99:.2f}; load average {load_average()}"
            )
        verdict = "met" if p99 / 1000 < TARGET_P99_SECONDS else "NOT met"
        print(f"TARGET {label} p99 < {TARGET_P99_SECONDS:.0f} s: {verdict}")
    engine.dispose()


def measure_floor(
    world: LiveWorld,
    arrivals: StampedArrivals,
    count: int,
    concurrency: int,
    warmup: int,
    folder: Path,
) -> list[float]:
    """202 -> webhook through ``bench/conferencing_floor.py``, same clients and receiver."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bench.conferencing_floor",
        "--port",
        str(port),
        "--google",
        world.google.base_url,
        "--calendar",
        GOOGLE_CALENDAR,
        "--token",
        world.google.issue_grant()["access_token"],
    ]
    log = (folder / "floor.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url, "/"), 30, "the floor's server")
        before = len(arrivals.arrived)
        if warmup:
            upsert_all(world, url, warmup, min(warmup, concurrency), prefix="floor-warm")
            wait_for(lambda: len(arrivals.arrived) >= before + warmup, 60, "the floor's warm-up")
        accepted, _wall = upsert_all(world, url, count, concurrency, prefix="floor")
        wait_for(
            lambda: len(arrivals.arrived) >= before + warmup + count, 120, "the floor's webhooks"
        )
    finally:
        process.terminate()
        process.wait(10)
        log.close()
    return [arrivals.arrived[event] - accepted[event] for event in accepted]


def print_timeline(
    label: str, accepted: dict[str, float], arrived: dict[str, float], first: float
) -> None:
    """202s and webhooks per quarter second after the first 202: where the wait builds."""
    step = 0.25
    buckets = int((max(*arrived.values(), *accepted.values()) - first) / step) + 2
    answered = [0] * buckets
    delivered = [0] * buckets
    for stamp in accepted.values():
        answered[int((stamp - first) / step)] += 1
    for stamp in arrived.values():
        delivered[int((stamp - first) / step)] += 1
    for index in range(buckets):
        print(
            f"TIMELINE {label} +{index * step:5.2f} s: {answered[index]:3d} 202s, "
            f"{delivered[index]:3d} webhooks"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1-minute load average (other work on the machine shows here)."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def _ready(api_url: str, path: str = "/readyz") -> bool:
    try:
        return requests.get(f"{api_url}{path}", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def postgres_schema(url: str) -> tuple[str, Any]:
    """A fresh schema on ``url`` and a function that drops it."""
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL", help="also run on this Postgres server")
    parser.add_argument("--smoke", action="store_true", help="10 events, concurrency 4")
    parser.add_argument(
        "--separate-api",
        action="store_true",
        help="serve the API from this process, the daemon runs --no-api (the old layout)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="events upserted and delivered before the measured burst (not timed)",
    )
    parser.add_argument(
        "--api-process",
        action="store_true",
        help="the API in a `syncd serve` process of its own, the daemon runs --no-api "
        "(compose.yaml's layout on Postgres)",
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the floor (bench/conferencing_floor.py)"
    )
    parser.add_argument(
        "--timeline", action="store_true", help="202s and webhooks per quarter second"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a daemon setting (SYNCD_KEY), e.g. --set managed_writes_per_calendar=8",
    )
    options = parser.parse_args()
    count, concurrency = (10, 4) if options.smoke else (options.events, options.concurrency)
    daemon_settings = dict(item.split("=", 1) for item in options.set)
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        run(
            f"sqlite:///{folder / 'bench.db'}",
            "sqlite",
            count,
            concurrency,
            folder,
            daemon_settings,
            options.separate_api,
            options.timeline,
            0 if options.smoke else options.warmup,
            not options.no_floor,
            options.api_process,
        )
        if options.postgres:
            url, drop = postgres_schema(options.postgres)
            try:
                run(
                    url,
                    "postgres",
                    count,
                    concurrency,
                    folder,
                    daemon_settings,
                    options.separate_api,
                    options.timeline,
                    0 if options.smoke else options.warmup,
                    not options.no_floor,
                    options.api_process,
                )
            finally:
                drop()


if __name__ == "__main__":
    main()
