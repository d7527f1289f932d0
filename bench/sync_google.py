"""End-to-end Google Calendar sync through the real engine (``sync_profile`` into SQLite).

    .venv/bin/python -m bench.sync_google                # 10,000 events, 3 runs per figure
    .venv/bin/python -m bench.sync_google --smoke        # 300 events, 1 run (CI)
    .venv/bin/python -m bench.sync_google --profile      # + cProfile of one full sync

The Google emulator (``tests/emulators/google.py``) runs in its own process, seeded
before anything is timed: one calendar of ``--events`` events (every tenth a weekly
series of 10, every seventh with attendees, every 25th all-day), spread from 60 days
ago onwards. Figures:

(a) syncd full sync of a new profile ÷ the floor: the same ``events.list`` pages
    (same page size, ``singleEvents=false&showDeleted=true``) fetched with plain
    ``requests``, following ``nextPageToken``, JSON-decoding each page; target <= 3.0;
(b) syncd full sync ÷ gcal_sync's (allenporter's ``gcal-sync``, the ``bench`` extra):
    its ``CalendarEventSyncManager`` doing a full sync of the same emulator data into its
    in-memory store, through an ``AbstractAuth`` whose ``host`` is the emulator, timed in
    a process of its own (``bench/gcal_sync_peer.py``);
    target <= 0.8;
(c) no-change incremental sync: provider HTTP requests per calendar (target 1), its
    time, and that time ÷ gcal_sync's no-change sync (target <= 2.0);
(d) the lower bound of any syncer that maps and stores every event
    (``bench/lower_bound.py``): syncd's adapter alone plus the store floor (the synced
    rows inserted again, nothing converted), beside the floor.

Each timing is repeated (``--repeat``), in rounds of one run of each side (floor,
syncd, gcal_sync), so that all sides see the shared machine alike; ratios compare
medians (bests shown beside). Every full sync goes into a fresh SQLite file (gcal_sync:
a new store); set-up is never timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import requests

from bench.common import (
    REPO_ROOT,
    EmulatorHandle,
    SyncStore,
    count_http_requests,
    google_emulator_process,
    machine_line,
    new_store,
    peak_rss_line,
    print_full_sync,
    print_no_change,
    print_profiles,
    ratio_line,
)
from bench.lower_bound import adapter_pass, store_floor
from bench.timing import Timings, repeat_timed, timed_into
from providers.google import GoogleProvider
from syncd.config import OAuthProviderSettings

FLOOR_TARGET = 3.0
GCAL_SYNC_TARGET = 0.8
NO_CHANGE_TARGET = 2.0
SMOKE_EVENTS = 300
CALENDAR_ID = "bench@example.com"


def floor_once(handle: EmulatorHandle, page_size: int) -> int:
    """Every page of a full ``events.list`` with plain requests; returns the items seen."""
    url = urljoin(handle.base_url, f"calendar/v3/calendars/{quote(handle.calendar_id)}/events")
    params: dict[str, Any] = {
        "maxResults": page_size,
        "singleEvents": "false",
        "showDeleted": "true",
    }
    headers = {"Authorization": f"Bearer {handle.grant['access_token']}"}
    items = 0
    with requests.Session() as session:
        while True:
            response = session.get(url, params=params, headers=headers, timeout=60)
            response.raise_for_status()
            body = response.json()
            items += len(body.get("items", []))
            token = body.get("nextPageToken")
            if not token:
                if not body.get("nextSyncToken"):
                    raise RuntimeError("last page without nextSyncToken")
                return items
            params["pageToken"] = token


def gcal_sync_available() -> bool:
    """Whether the peer (the ``bench`` extra) is installed."""
    try:
        import gcal_sync.sync  # noqa: F401, PLC0415 - optional, bench-only
    except ImportError:
        return False
    return True


class GcalSyncPeer:
    """gcal_sync in a process of its own (``bench/gcal_sync_peer.py``), told to run one
    sync at a time, so that its runs take turns with syncd's."""

    def __init__(self, handle: EmulatorHandle) -> None:
        self.full, self.again = Timings(), Timings()
        self.items = 0
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.gcal_sync_peer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        request = {
            "base_url": handle.base_url,
            "calendar_id": handle.calendar_id,
            "access_token": handle.grant["access_token"],
        }
        if self._ask(json.dumps(request)) != "ready":
            raise RuntimeError("the gcal_sync peer did not start")

    def _ask(self, line: str) -> str:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline().strip()
        if not answer:
            raise RuntimeError(f"the gcal_sync peer exited with {self._process.wait()}")
        return answer

    def run(self, command: str) -> None:
        """One timed ``full`` (into a new store) or ``again`` (no-change) sync."""
        answer = json.loads(self._ask(command))
        timings = self.full if command == "full" else self.again
        timings.loads.append(os.getloadavg()[0])
        timings.runs.append(float(answer["seconds"]))
        self.items = int(answer["items"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)


def print_lower_bound(
    store: SyncStore,
    handle: EmulatorHandle,
    floor: Timings,
    full: Timings,
    folder: Path,
    repeat: int,
) -> None:
    """What mapping and storing the events costs at the least (``bench/lower_bound.py``),
    beside the floor and syncd's full sync."""
    adapter = repeat_timed(
        repeat, lambda _: adapter_pass(store, "google", handle.grant), lambda: None
    )
    print(
        f"ADAPTER alone (pages fetched, decoded, mapped; nothing stored): "
        f"{adapter.timings.describe()}"
    )
    stored = store_floor(Path(str(store.engine.url.database)), folder, repeat)
    print(
        f"STORE FLOOR ({stored.result} synced rows re-inserted, executemany + commit): "
        f"{stored.timings.describe()}"
    )
    lower = adapter.timings.median + stored.timings.median
    print(
        f"LOWER BOUND adapter + store floor: {lower:.3f} s = {lower / floor.median:.2f}x the "
        f"floor; left for everything else under the 3x target: "
        f"{FLOOR_TARGET * floor.median - lower:.3f} s (syncd spends "
        f"{full.median - lower:.3f} s on it)"
    )


def full_sync_figures(
    handle: EmulatorHandle,
    fresh_store: Callable[[], SyncStore],
    peer: GcalSyncPeer | None,
    events: int,
    repeat: int,
) -> tuple[Timings, Timings, SyncStore]:
    """The floor's, syncd's and gcal_sync's full syncs, one of each per round; returns
    the floor's and syncd's timings and syncd's last store."""
    page_size = GoogleProvider.page_size
    floor, full = Timings(), Timings()
    for _ in range(repeat):
        floor_items = timed_into(floor, lambda: floor_once(handle, page_size))
        store = fresh_store()
        outcome = timed_into(full, store.sync)
        if peer is not None:
            peer.run("full")
    print(f"FLOOR events.list pages with requests + json: {floor.describe()}")
    print(f"  floor saw {floor_items} items")
    print_full_sync(store, full, outcome.pages, events)
    print(ratio_line("syncd full / floor", full, floor, FLOOR_TARGET))
    if peer is not None:
        print(f"GCAL_SYNC full sync (in-memory store, own process): {peer.full.describe()}")
        print(f"  gcal_sync stored {peer.items} items")
        if peer.items != events:
            raise SystemExit(f"gcal_sync stored {peer.items} items, not {events}")
        print(ratio_line("syncd full / gcal_sync full", full, peer.full, GCAL_SYNC_TARGET))
    return floor, full, store


def no_change_figures(store: SyncStore, peer: GcalSyncPeer | None, repeat: int) -> None:
    """syncd's no-change syncs (and the requests they make), in turn with gcal_sync's."""
    made: list[list[str]] = []
    again = Timings()
    calendars = 1
    for _ in range(repeat):
        with count_http_requests() as requests_made:
            calendars = timed_into(again, store.sync).calendars
        made.append(requests_made)
        if peer is not None:
            peer.run("again")
    print_no_change(again, made, calendars)
    if peer is None:
        print("GCAL_SYNC skipped")
        return
    print(f"GCAL_SYNC no-change sync: {peer.again.describe()}")
    print(ratio_line("syncd no-change / gcal_sync no-change", again, peer.again, NO_CHANGE_TARGET))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=None, help="events (default 10000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--smoke", action="store_true", help="300 events, 1 run: for CI")
    parser.add_argument("--profile", action="store_true", help="cProfile one more full sync")
    parser.add_argument("--skip-gcal-sync", action="store_true", help="no peer figures")
    options = parser.parse_args(argv)
    events = options.events or (SMOKE_EVENTS if options.smoke else 10_000)
    repeat = options.repeat or (1 if options.smoke else 3)

    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="syncd-bench-google-"))
    stores: list[SyncStore] = []
    try:
        with google_emulator_process(events, CALENDAR_ID) as handle:
            print(
                f"seeded {events} events into the Google emulator (own process) "
                f"in {handle.seed_seconds:.2f} s; page size {GoogleProvider.page_size}"
            )
            floor_once(handle, GoogleProvider.page_size)  # warm the emulator and connections
            google = OAuthProviderSettings(
                client_id=handle.client_id,
                client_secret=handle.client_secret,
                api_base_url=handle.base_url,
                token_url=handle.token_url,
            )

            def fresh_store() -> SyncStore:
                if stores:
                    stores[-1].close()
                path = folder / f"syncd-{len(stores)}.db"
                stores.append(new_store(path, "google", CALENDAR_ID, handle.grant, google=google))
                return stores[-1]

            with_peer = not options.skip_gcal_sync and gcal_sync_available()
            peer = GcalSyncPeer(handle) if with_peer else None
            try:
                floor, full, store = full_sync_figures(handle, fresh_store, peer, events, repeat)
                no_change_figures(store, peer, repeat)
            finally:
                if peer is not None:
                    peer.close()
            print_lower_bound(store, handle, floor, full, folder, repeat)
            print(peak_rss_line("google", CALENDAR_ID, handle.grant, {"google": google}))
            if options.profile:
                path = folder / "syncd-profile.db"
                print_profiles(new_store(path, "google", CALENDAR_ID, handle.grant, google=google))
    finally:
        for each in stores:
            each.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
