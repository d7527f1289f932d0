"""Change-to-store latency: provider push vs. polling, through a real daemon and API.

    .venv/bin/python -m bench.push_latency                     # Google + Microsoft
    .venv/bin/python -m bench.push_latency --provider google --changes 50
    .venv/bin/python -m bench.push_latency --smoke             # a few changes (CI)

Each provider's emulator runs in this process; a ``SyncDaemon`` and an ``ApiServer``
listen on 127.0.0.1 with a fresh SQLite store (``--database-url`` for Postgres). A
change is one new event written at the emulator; its latency is the time until the
event's row is in the store (checked every 5 ms). Changes are spaced at random, so each
lands at a random phase of the daemon's one-second dispatch tick (push) or of the poll
schedule (polling).

(a) push on, ``poll_interval`` a day: the emulator calls ``/push/<provider>``, the
    profile becomes due, the next dispatch syncs it. Target: p95 under 2 s.
(b) polling only, at ``--poll-interval`` (10 s by default, so the run stays short): a
    change waits for the next poll, uniformly 0..interval, plus one sync. The same
    model gives the figures at the default ``poll_interval`` of 300 s, printed beside.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from bench.common import machine_line
from providers.microsoft import CA_BUNDLE_ENV
from syncd.api.server import ApiServer
from syncd.config import Settings, load_settings
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, upgrade_schema
from syncd.store.models import Event
from syncd.sync import push
from syncd.sync.daemon import SyncDaemon
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import DEFAULT_USER as GRAPH_USER
from tests.emulators.graph import GraphEmulator
from tests.support.push_world import (
    add_profile,
    channels_of,
    emulated_settings,
    profile_row,
    wait_until,
)

PUSH_TARGET_P95 = 2.0
DEFAULT_POLL_INTERVAL = Settings.model_fields["poll_interval"].default
GOOGLE_CALENDAR = "bench@example.com"
GRAPH_CALENDAR = "AAMkAGbench-calendar"
START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=3), dt.time(9), dt.UTC)


class Emulated:
    """One provider's emulator, a profile on it, and a way to make a change there."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.google: GoogleCalendarEmulator | None = None
        self.graph: GraphEmulator | None = None
        self.count = 0

    @contextmanager
    def running(self) -> Iterator[Emulated]:
        if self.provider == "google":
            with GoogleCalendarEmulator() as google:
                google.add_calendar(GOOGLE_CALENDAR, primary=True)
                self.google = google
                yield self
        else:
            with GraphEmulator() as graph:
                os.environ[CA_BUNDLE_ENV] = graph.ca_bundle
                graph.add_calendar(GRAPH_CALENDAR, default=True)
                self.graph = graph
                yield self

    def profile(self, engine: Engine, box: SecretBox) -> str:
        if self.google is not None:
            return add_profile(engine, box, "google", GOOGLE_CALENDAR, self.google.issue_grant())
        assert self.graph is not None
        return add_profile(engine, box, "microsoft", GRAPH_USER, self.graph.issue_grant())

    def settings(self, base: Settings, **overrides: Any) -> Settings:
        return emulated_settings(base, self.google, self.graph, **overrides)

    def change(self) -> str:
        """Write one new event at the provider; returns the id the store will hold."""
        self.count += 1
        start = START + dt.timedelta(hours=self.count)
        end = start + dt.timedelta(minutes=30)
        if self.google is not None:
            event_id = f"benchpush{self.count:06d}"
            self.google.put_event(
                GOOGLE_CALENDAR,
                {
                    "id": event_id,
                    "summary": event_id,
                    "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": end.isoformat()},
                },
            )
            return event_id
        assert self.graph is not None
        created = self.graph.put_event(
            GRAPH_CALENDAR,
            {
                "subject": f"bench {self.count}",
                "start": {"dateTime": start.replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": end.replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
            },
        )
        return str(created["id"])


def stored(engine: Engine, event_id: str) -> Callable[[], bool]:
    def check() -> bool:
        with Session(engine) as session:
            query = select(Event.id).where(Event.provider_event_id == event_id)
            return session.execute(query).first() is not None

    return check


def measure(
    provider: str,
    database_url: str | None,
    changes: int,
    push_on: bool,
    poll_interval: float,
) -> list[float]:
    """Latencies (seconds) of ``changes`` changes with push on, or polling only."""
    with tempfile.TemporaryDirectory() as folder, Emulated(provider).running() as emulated:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade_schema(engine)
        key = generate_key()
        box = SecretBox([key])
        base = load_settings(database_url=url, secret_keys=[key], workers=2, log_level="WARNING")
        profile_id = emulated.profile(engine, box)
        server = ApiServer(base, engine, host="127.0.0.1", port=0)
        server.start()
        configured = emulated.settings(
            base,
            poll_interval=86400.0 if push_on else poll_interval,
            poll_jitter=0.1,
            push_base_url=server.url if push_on else "",
        )
        daemon = SyncDaemon(engine, configured, box)
        daemon.start()
        try:
            wait_until(lambda: profile_row(engine, profile_id).sync_status == "active", 60)
            if push_on:
                wait_until(lambda: _live(engine, profile_id), 60)
                time.sleep(1.5)  # let the catch-up sync after channel creation finish
            latencies = []
            for _ in range(changes):
                time.sleep(
                    random.uniform(0.2, 1.2) if push_on else random.uniform(0, poll_interval)
                )
                event_id = emulated.change()
                latencies.append(
                    wait_until(stored(engine, event_id), timeout=poll_interval * 3 + 30, step=0.005)
                )
            return latencies
        finally:
            daemon.stop()
            server.stop()
            engine.dispose()


def _live(engine: Engine, profile_id: str) -> bool:
    channels = channels_of(engine, profile_id)
    return bool(channels) and all(c.provider_resource_id for c in channels)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50 {statistics.median(values):.2f} s, "
        f"p95 {percentile(values, 0.95):.2f} s, max {max(values):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", choices=["google", "microsoft", "both"], default="both")
    parser.add_argument("--changes", type=int, default=40, help="changes measured with push")
    parser.add_argument("--poll-changes", type=int, default=8, help="changes measured polling")
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--smoke", action="store_true", help="a few changes, short polls")
    options = parser.parse_args()
    if options.smoke:
        options.changes, options.poll_changes, options.poll_interval = 4, 2, 2.0
    push.MAINTENANCE_SECONDS = 0.5  # channels right after the first sync, not a minute later
    providers = ["google", "microsoft"] if options.provider == "both" else [options.provider]
    print(machine_line())
    for provider in providers:
        pushed = measure(provider, options.database_url, options.changes, True, 0.0)
        met = "met" if percentile(pushed, 0.95) < PUSH_TARGET_P95 else "NOT met"
        print(f"PUSH {provider}: {summary(pushed)} (target p95 < {PUSH_TARGET_P95:.0f} s: {met})")
        polled = measure(
            provider, options.database_url, options.poll_changes, False, options.poll_interval
        )
        print(f"POLL {provider} every {options.poll_interval:g} s: {summary(polled)}")
        sync_time = max(0.0, statistics.median(polled) - options.poll_interval / 2)
        print(
            f"POLL {provider} model at the default {DEFAULT_POLL_INTERVAL:g} s interval: "
            f"p50 ~{DEFAULT_POLL_INTERVAL * 0.5 + sync_time:.0f} s, "
            f"p95 ~{DEFAULT_POLL_INTERVAL * 0.95 + sync_time:.0f} s "
            "(a uniform wait for the next poll, plus one sync)"
        )


if __name__ == "__main__":
    main()
