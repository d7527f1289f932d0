"""End-to-end Microsoft 365 sync through the real engine (``sync_profile`` into SQLite).

    .venv/bin/python -m bench.sync_microsoft              # 10,000 events, 3 runs per figure
    .venv/bin/python -m bench.sync_microsoft --smoke      # 300 events, 1 run (CI)
    .venv/bin/python -m bench.sync_microsoft --profile    # + cProfile of one full sync

The Graph emulator (``tests/emulators/graph.py``, HTTPS) runs in its own process,
seeded before anything is timed: one calendar whose calendarView serves ``--events``
items, one every hour from 60 days ago (so all of them fall inside the adapter's
window), every hundredth slot starting a daily series of 10 occurrences, every 25th
all-day, every seventh with attendees and a body, every third with a location.
Figures:

(a) syncd full sync of a new profile ÷ the floor: the same calendarView delta pages
    (same window, same ``Prefer: odata.maxpagesize``) fetched with plain ``requests``,
    following ``@odata.nextLink`` to the ``@odata.deltaLink``, JSON-decoding each page;
    target <= 2.0;
(b) no-change delta sync: provider HTTP requests per calendar (target 1) and time.

Each timing is repeated (``--repeat``), the floor's and the full sync's in turn (one of
each per round, so both see the shared machine alike); ratios compare medians (bests
shown beside).
Every full sync goes into a fresh SQLite file; set-up is never timed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from bench.common import (
    REPO_ROOT,
    SyncStore,
    count_http_requests,
    machine_line,
    new_store,
    peak_rss_line,
    print_full_sync,
    print_no_change,
    print_profiles,
    ratio_line,
)
from bench.timing import Timings, repeat_timed, timed_into
from providers.microsoft import CA_BUNDLE_ENV, MicrosoftProvider
from syncd.config import OAuthProviderSettings
from tests.emulators.graph import DEFAULT_USER, GraphEmulator

FLOOR_TARGET = 2.0
SMOKE_EVENTS = 300
CALENDAR_ID = "AAMkAGbench-calendar"
ZONE = "Europe/Berlin"
#: Slots per daily series (every hundredth slot starts one).
SERIES_LENGTH = 10


@dataclasses.dataclass
class GraphHandle:
    """What the parent needs from the emulator process."""

    api_base_url: str
    token_url: str
    authorize_url: str
    client_id: str
    client_secret: str
    ca_bundle: str
    calendar_id: str
    user: str
    grant: dict[str, Any]
    served: int
    seed_seconds: float


def sample_graph_event(index: int, first_day: dt.date, series: bool) -> dict[str, Any]:
    """One event resource as a client would create it (the emulator fills in the rest)."""
    start = dt.datetime.combine(first_day, dt.time(0)) + dt.timedelta(hours=index)
    end = start + dt.timedelta(hours=1)
    event: dict[str, Any] = {
        "id": f"AAMkAGbench{index:07d}",
        "subject": f"Seeded event {index}",
        "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": end.isoformat(), "timeZone": ZONE},
    }
    if index % 25 == 0 and not series:
        day = start.date()
        event["isAllDay"] = True
        event["start"] = {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": ZONE}
        event["end"] = {
            "dateTime": f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00",
            "timeZone": ZONE,
        }
    if series:
        event["recurrence"] = {
            "pattern": {"type": "daily", "interval": 1},
            "range": {
                "type": "numbered",
                "startDate": start.date().isoformat(),
                "numberOfOccurrences": SERIES_LENGTH,
                "recurrenceTimeZone": ZONE,
            },
        }
    if index % 3 == 0:
        event["location"] = {"displayName": "Room 1", "locationType": "default"}
    if index % 7 == 0:
        event["isOrganizer"] = False
        event["responseStatus"] = {"response": "accepted", "time": "2024-01-01T00:00:00Z"}
        event["attendees"] = [
            {
                "type": "required",
                "status": {"response": "accepted", "time": "2024-01-01T00:00:00Z"},
                "emailAddress": {"name": "Alice", "address": "alice@contoso.com"},
            },
            {
                "type": "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": "Bob", "address": "bob@contoso.com"},
            },
        ]
        event["body"] = {"contentType": "text", "content": "Agenda: numbers, plans, questions."}
    return event


def seed_graph_events(emulator: Any, calendar_id: str, events: int) -> None:
    """Fill the calendar so that its calendarView serves ``events`` items."""
    first_day = dt.date.today() - dt.timedelta(days=60)
    slot = 0
    while slot < events:
        series = slot % 100 == 0 and slot + SERIES_LENGTH <= events
        emulator.put_event(calendar_id, sample_graph_event(slot, first_day, series))
        slot += SERIES_LENGTH if series else 1


# ---------------------------------------------------------------------------
# The emulator in its own process
# ---------------------------------------------------------------------------


@contextmanager
def graph_emulator_process(events: int) -> Iterator[GraphHandle]:
    """``python -m bench.sync_microsoft serve-emulator EVENTS``: seeded, serving until
    its stdin closes; it prints one JSON line describing itself."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sync_microsoft", "serve-emulator", str(events)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited with {process.wait()}")
        yield GraphHandle(**json.loads(line))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve_emulator(events: int) -> None:
    with GraphEmulator() as emulator:
        started = time.perf_counter()
        emulator.add_calendar(CALENDAR_ID, name="Bench", default=True)
        seed_graph_events(emulator, CALENDAR_ID, events)
        emulator.requests.clear()
        handle = GraphHandle(
            api_base_url=emulator.api_base_url,
            token_url=emulator.token_url,
            authorize_url=emulator.authorize_url,
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            ca_bundle=emulator.ca_bundle,
            calendar_id=CALENDAR_ID,
            user=DEFAULT_USER,
            grant=emulator.issue_grant(),
            served=len(emulator.served_ids(CALENDAR_ID)),
            seed_seconds=time.perf_counter() - started,
        )
        print(json.dumps(dataclasses.asdict(handle)), flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


# ---------------------------------------------------------------------------
# The floor
# ---------------------------------------------------------------------------


def adapter_window() -> tuple[str, str]:
    """The window the adapter asks for on a full sync (its history and horizon days)."""
    today = dt.datetime.combine(dt.date.today(), dt.time(), dt.UTC)
    start = today - dt.timedelta(days=MicrosoftProvider.history_days)
    end = today + dt.timedelta(days=MicrosoftProvider.horizon_days)
    return (start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ"))


def floor_once(handle: GraphHandle, page_size: int) -> int:
    """Every page of a full calendarView delta with plain requests; returns the items seen."""
    start, end = adapter_window()
    url: str | None = (
        f"{handle.api_base_url}me/calendars/{quote(handle.calendar_id, safe='')}/calendarView/delta"
    )
    params: dict[str, str] | None = {"startDateTime": start, "endDateTime": end}
    headers = {
        "Authorization": f"Bearer {handle.grant['access_token']}",
        "Accept": "application/json",
        "Prefer": f'outlook.timezone="UTC", odata.maxpagesize={page_size}',
    }
    items = 0
    with requests.Session() as session:
        session.verify = handle.ca_bundle
        session.trust_env = False
        while url:
            response = session.get(url, params=params, headers=headers, timeout=60)
            response.raise_for_status()
            body = response.json()
            items += len(body.get("value", []))
            url, params = body.get("@odata.nextLink"), None
            if not url and not body.get("@odata.deltaLink"):
                raise RuntimeError("last page without @odata.deltaLink")
    return items


# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=None, help="events (default 10000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--smoke", action="store_true", help="300 events, 1 run: for CI")
    parser.add_argument("--profile", action="store_true", help="cProfile one more full sync")
    options = parser.parse_args(argv)
    events = options.events or (SMOKE_EVENTS if options.smoke else 10_000)
    repeat = options.repeat or (1 if options.smoke else 3)
    page_size = MicrosoftProvider.page_size

    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="syncd-bench-microsoft-"))
    previous_bundle = os.environ.get(CA_BUNDLE_ENV)
    try:
        with graph_emulator_process(events) as handle:
            os.environ[CA_BUNDLE_ENV] = handle.ca_bundle
            print(
                f"seeded the Graph emulator (own process) with {handle.served} served items "
                f"in {handle.seed_seconds:.2f} s; page size {page_size}"
            )
            floor_once(handle, page_size)  # warm the emulator and the connection path
            microsoft = OAuthProviderSettings(
                client_id=handle.client_id,
                client_secret=handle.client_secret,
                api_base_url=handle.api_base_url,
                token_url=handle.token_url,
                authorize_url=handle.authorize_url,
            )
            stores: list[SyncStore] = []

            def fresh_store() -> SyncStore:
                if stores:
                    stores[-1].close()
                path = folder / f"syncd-{len(stores)}.db"
                stores.append(
                    new_store(path, "microsoft", handle.user, handle.grant, microsoft=microsoft)
                )
                return stores[-1]

            # In turn, one run of each per round, so both see the shared machine alike.
            floor, full = Timings(), Timings()
            for _ in range(repeat):
                floor_items = timed_into(floor, lambda: floor_once(handle, page_size))
                store = fresh_store()
                outcome = timed_into(full, store.sync)
            print(f"FLOOR calendarView delta pages with requests + json: {floor.describe()}")
            print(f"  floor saw {floor_items} items")
            print_full_sync(store, full, outcome.pages, events)
            print(ratio_line("syncd full / floor", full, floor, FLOOR_TARGET))
            print(peak_rss_line("microsoft", handle.user, handle.grant, {"microsoft": microsoft}))

            made: list[list[str]] = []

            def incremental(store: SyncStore) -> int:
                with count_http_requests() as requests_made:
                    outcome = store.sync()
                made.append(requests_made)
                return outcome.calendars

            incremental_run = repeat_timed(repeat, incremental, lambda: store)
            print_no_change(incremental_run.timings, made, incremental_run.result)

            if options.profile:
                path = folder / "syncd-profile.db"
                print_profiles(
                    new_store(path, "microsoft", handle.user, handle.grant, microsoft=microsoft)
                )
            for each in stores:
                each.close()
    finally:
        if previous_bundle is None:
            os.environ.pop(CA_BUNDLE_ENV, None)
        else:
            os.environ[CA_BUNDLE_ENV] = previous_bundle
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-emulator":
        _serve_emulator(int(sys.argv[2]))
    else:
        main()
