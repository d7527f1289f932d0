"""Soak benchmark (issue 13): one ``syncd run`` (sync + API) under steady load for minutes.

    .venv/bin/python -m bench.soak                      # 1,000 profiles, 10 minutes, SQLite
    .venv/bin/python -m bench.soak --postgres URL       # the same on Postgres
    .venv/bin/python -m bench.soak --smoke              # 50 profiles, 20 s (what CI runs)

Set-up (never measured): the Google emulator runs in its own process with one user per
profile (one calendar of 3 events); the database holds one account and Google profile per
user, all due. Then one daemon (``syncd run``, API included, 4 workers) runs for the
soak's duration while this process

- lets the daemon sync every profile, and again every ``--poll`` seconds (incremental);
- sends API load from ``--clients`` threads at ``--rate`` requests/s in all: reads
  (``GET /v1/events``, ``/v1/free_busy``, ``/v1/calendars``) and, one request in
  ``--upsert-every``, an upsert of a managed event with ``default`` conferencing and a
  ``conferencing_assigned`` subscription, so the daemon writes to the emulator and
  delivers a webhook to a receiver in this process;
- samples the daemon's RSS every ``--sample`` seconds.

Printed: RSS (first, last, peak, and the slope over the second half), the API's answers
(any not 2xx is an error), syncs ok / not ok and profiles synced, webhooks owed / received
(lost = owed and never received once the soak ends and the daemon drains, duplicates by
delivery id), and the 202 → webhook latency. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import Engine, and_, func, not_, select
from sqlmodel import col

from bench.common import machine_line
from bench.conferencing import cpu_seconds, load_average, percentile, postgres_schema
from bench.scale import EmulatorInfo, emulator_process, environment_for
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.models import Calendar, Profile, SyncRun
from syncd.store.tenants import issue_access_token
from tests.support.fleet import Daemon, insert_profiles, start_daemon, wait_for
from tests.support.webhook_receiver import Received, WebhookReceiver, free_port

#: Accounts the API load acts as (their calendars get the managed events).
API_ACCOUNTS = 20
#: RSS growth over the second half, MB per minute, still called flat.
FLAT_MB_PER_MINUTE = 1.0


@dataclass
class Load:
    """What the API clients sent and got."""

    answers: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    #: event_id -> when its 202 came (monotonic)
    upserted: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Arrivals(list[Received]):
    """The receiver's accepted list, noting each event's first arrival and delivery ids."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}
        self.deliveries: Counter[str] = Counter()
        self._lock = threading.Lock()

    def append(self, item: Received) -> None:
        stamp = time.monotonic()
        event_id = json.loads(item.body)["event"]["event_id"]
        with self._lock:
            self.arrived.setdefault(event_id, stamp)
            self.deliveries[item.delivery_id] += 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [s for s, _ in samples], [mb for _, mb in samples]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread * 60


def api_accounts(engine: Engine, count: int) -> list[tuple[str, str]]:
    """(access token, calendar id) of ``count`` accounts whose calendar is synced."""
    with session_scope(engine) as session:
        synced = session.execute(
            select(col(Profile.account_id), col(Calendar.id))
            .join(Profile, col(Calendar.profile_id) == col(Profile.id))
            .order_by(col(Calendar.id))
            .limit(count)
        ).all()
        return [(issue_access_token(session, account), calendar) for account, calendar in synced]


def client_loop(
    api_url: str,
    accounts: list[tuple[str, str]],
    hook: str,
    rate: float,
    upsert_every: int,
    stop: threading.Event,
    load: Load,
    seed: int,
) -> None:
    """One client: a request every 1/rate s (reads, and every n-th an upsert)."""
    rng = random.Random(seed)
    session = requests.Session()
    session.trust_env = False
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    window = {
        "from": start.date().isoformat(),
        "to": (start + dt.timedelta(days=14)).date().isoformat(),
    }
    sent = 0
    next_at = time.monotonic()
    while not stop.is_set():
        token, calendar_id = rng.choice(accounts)
        headers = {"Authorization": f"Bearer {token}"}
        sent += 1
        try:
            if sent % upsert_every == 0:
                event_id = f"soak-{seed}-{sent}"
                begins = start + dt.timedelta(days=1 + rng.randrange(30), hours=rng.randrange(10))
                body = {
                    "event_id": event_id,
                    "summary": f"Soak {sent}",
                    "start": begins.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end": (begins + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "tzid": "Etc/UTC",
                    "conferencing": {"profile_id": "default"},
                    "subscriptions": [
                        {
                            "type": "webhook",
                            "uri": hook,
                            "interactions": [{"type": "conferencing_assigned"}],
                        }
                    ],
                }
                url = f"{api_url}/v1/calendars/{calendar_id}/events"
                response = session.post(url, headers=headers, json=body, timeout=30)
                name = "upsert"
                if response.status_code == 202:
                    with load.lock:
                        load.upserted[event_id] = time.monotonic()
            else:
                name, path, params = rng.choice(
                    [
                        ("events", "/v1/events", {"tzid": "Etc/UTC", **window}),
                        ("free_busy", "/v1/free_busy", {"tzid": "Etc/UTC", **window}),
                        ("calendars", "/v1/calendars", {}),
                    ]
                )
                response = session.get(
                    f"{api_url}{path}", headers=headers, params=params, timeout=30
                )
            outcome = f"{name} {response.status_code}"
            if not 200 <= response.status_code < 300:
                with load.lock:
                    load.errors.append(f"{outcome}: {response.text[:200]}")
        except requests.RequestException as error:
            outcome = f"{type(error).__name__}"
            with load.lock:
                load.errors.append(outcome)
        with load.lock:
            load.answers[outcome] += 1
        next_at += 1 / rate
        stop.wait(max(0.0, next_at - time.monotonic()))


def sync_counts(
    engine: Engine, since: dt.datetime, shutdown: dt.datetime
) -> tuple[int, int, int, int, list[str]]:
    """(ok runs, runs not ok, runs handed back at shutdown, distinct profiles with an ok
    run, how the not-ok ones ended) for runs finished since ``since``. A run ``stopped``
    after the soak's own SIGTERM (``shutdown``) is the daemon handing it back, not a
    failure."""
    with engine.connect() as connection:
        finished = col(SyncRun.finished_at) >= since
        handed_back = and_(SyncRun.outcome == "stopped", col(SyncRun.finished_at) >= shutdown)
        ok = connection.execute(
            select(func.count()).where(finished, SyncRun.outcome == "ok")
        ).scalar_one()
        bad = connection.execute(
            select(func.count()).where(finished, SyncRun.outcome != "ok", not_(handed_back))
        ).scalar_one()
        stopped = connection.execute(select(func.count()).where(handed_back)).scalar_one()
        profiles = connection.execute(
            select(func.count(func.distinct(SyncRun.profile_id))).where(SyncRun.outcome == "ok")
        ).scalar_one()
        others = connection.execute(
            select(SyncRun.outcome, SyncRun.detail)
            .where(finished, SyncRun.outcome != "ok", not_(handed_back))
            .limit(5)
        ).all()
    return (
        int(ok), int(bad), int(stopped), int(profiles),
        [f"{o}: {(d or '')[:160]}" for o, d in others],
    )  # fmt: skip


@dataclass
class Options:
    profiles: int
    seconds: float
    clients: int
    rate: float
    upsert_every: int
    poll: int
    sample: float


def soak(label: str, url: str, emulator: EmulatorInfo, options: Options, folder: Path) -> None:
    key = generate_key()
    engine = make_engine(url)
    upgrade_schema(engine)
    insert_profiles(engine, SecretBox([key]), emulator.grants)
    receiver = WebhookReceiver()
    arrivals = Arrivals()
    receiver.accepted = arrivals
    receiver.start()
    port = free_port()
    environment = environment_for(url, key, emulator) | {
        "SYNCD_POLL_INTERVAL": str(options.poll),
        "SYNCD_LEASE_SECONDS": "60",
        "SYNCD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    daemon: Daemon = start_daemon(environment, folder / f"soak-{label}.log", api_port=port)
    api_url = f"http://127.0.0.1:{port}"
    load = Load()
    stop = threading.Event()
    try:
        began_sync = dt.datetime.now(dt.UTC)
        wait_for(
            lambda: _calendars(engine) >= min(API_ACCOUNTS, options.profiles), 300, "calendars"
        )
        accounts = api_accounts(engine, API_ACCOUNTS)
        print(f"{label}: daemon pid {daemon.pid}, API {api_url}, load average {load_average()}")
        clients = [
            threading.Thread(
                target=client_loop,
                args=(
                    api_url,
                    accounts,
                    receiver.url(),
                    options.rate / options.clients,
                    options.upsert_every,
                    stop,
                    load,
                    number,
                ),
                daemon=True,
            )
            for number in range(options.clients)
        ]
        opened = time.monotonic()
        cpu_before = cpu_seconds(daemon.pid)
        for client in clients:
            client.start()
        samples: list[tuple[float, float]] = []
        while time.monotonic() - opened < options.seconds:
            if daemon.process.poll() is not None:
                raise RuntimeError(f"the daemon exited:\n{daemon.log_text()[-2000:]}")
            samples.append((time.monotonic() - opened, rss_mb(daemon.pid)))
            time.sleep(options.sample)
        stop.set()
        for client in clients:
            client.join(60)
        closed = time.monotonic()
        owed = dict(load.upserted)
        drained = wait_for_drain(arrivals, owed, 120)
        cpu = cpu_seconds(daemon.pid) - cpu_before
        samples.append((time.monotonic() - opened, rss_mb(daemon.pid)))
        peak = _peak_rss(daemon.pid)
    finally:
        stop.set()
        shutdown = dt.datetime.now(dt.UTC)
        exit_code = daemon.terminate(60)
        receiver.stop()
    ok, bad, stopped, synced, others = sync_counts(engine, began_sync, shutdown)
    engine.dispose()
    report(label, options, load, arrivals, owed, samples, peak, ok, bad, synced)
    if stopped:
        print(f"  {stopped} run(s) handed back by the daemon at the soak's SIGTERM")
    for other in others:
        print(f"  sync not ok: {other}")
    minutes = (closed - opened) / 60
    print(
        f"CPU {label}: daemon {cpu / minutes:.1f} s per minute of soak; drained in "
        f"{drained:.1f} s after the load stopped; daemon exit code {exit_code}; "
        f"load average {load_average()}"
    )


def _calendars(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Calendar)).scalar_one())


def _peak_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_drain(arrivals: Arrivals, owed: dict[str, float], timeout: float) -> float:
    """Seconds until every owed webhook arrived (or the timeout)."""
    began = time.monotonic()
    with contextlib.suppress(AssertionError):
        wait_for(lambda: all(e in arrivals.arrived for e in owed), timeout, "owed webhooks")
    return time.monotonic() - began


def report(
    label: str,
    options: Options,
    load: Load,
    arrivals: Arrivals,
    owed: dict[str, float],
    samples: list[tuple[float, float]],
    peak: float,
    ok: int,
    bad: int,
    synced: int,
) -> None:
    half = [s for s in samples if s[0] >= options.seconds / 2]
    slope = slope_per_minute(half)
    print(
        f"RSS {label}: first {samples[0][1]:.0f} MB, last {samples[-1][1]:.0f} MB, peak "
        f"{peak:.0f} MB; second half {slope:+.2f} MB/min "
        f"({'flat' if abs(slope) <= FLAT_MB_PER_MINUTE else 'NOT flat'}, "
        f"{len(samples)} samples)"
    )
    total = sum(load.answers.values())
    print(
        f"API {label}: {total} requests ({total / options.seconds:.1f}/s), "
        f"{len(load.errors)} not 2xx or failed; "
        + ", ".join(f"{name}: {count}" for name, count in sorted(load.answers.items()))
    )
    for error in load.errors[:5]:
        print(f"  error: {error}")
    print(
        f"SYNC {label}: {ok} runs ok, {bad} not ok; {synced} of {options.profiles} "
        f"profiles synced (poll interval {options.poll} s)"
    )
    lost = [e for e in owed if e not in arrivals.arrived]
    doubled = sum(1 for count in arrivals.deliveries.values() if count > 1)
    latencies = [arrivals.arrived[e] - owed[e] for e in owed if e in arrivals.arrived]
    timing = ""
    if latencies:
        timing = (
            f"; 202 -> webhook p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
        )
    print(
        f"WEBHOOKS {label}: {len(owed)} owed, {len(owed) - len(lost)} received, "
        f"{len(lost)} lost, {doubled} delivered more than once{timing}"
    )
    verdict = abs(slope) <= FLAT_MB_PER_MINUTE and not load.errors and not lost and bad == 0
    print(f"TARGET {label} flat RSS, no errors, nothing lost: {'met' if verdict else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=20.0, help="API requests/s in all")
    parser.add_argument("--upsert-every", type=int, default=5, help="every n-th is an upsert")
    parser.add_argument("--poll", type=int, default=120, help="seconds between syncs")
    parser.add_argument("--postgres", metavar="URL", help="run on this Postgres server")
    parser.add_argument("--smoke", action="store_true", help="50 profiles for 20 s")
    arguments = parser.parse_args()
    options = Options(
        profiles=50 if arguments.smoke else arguments.profiles,
        seconds=20.0 if arguments.smoke else arguments.minutes * 60,
        clients=arguments.clients,
        rate=arguments.rate,
        upsert_every=arguments.upsert_every,
        poll=10 if arguments.smoke else arguments.poll,
        sample=1.0 if arguments.smoke else 10.0,
    )
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    print(machine_line())
    print(
        f"soak: {options.profiles} profiles, {options.seconds:.0f} s, {options.clients} "
        f"clients at {options.rate:g} requests/s (1 in {options.upsert_every} an upsert), "
        f"poll {options.poll} s; load average {load_average()}"
    )
    with emulator_process(options.profiles) as emulator, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if arguments.postgres:
            url, drop = postgres_schema(arguments.postgres)
            try:
                soak("postgres", url, emulator, options, folder)
            finally:
                drop()
        else:
            soak("sqlite", f"sqlite:///{folder / 'soak.db'}", emulator, options, folder)


if __name__ == "__main__":
    main()
