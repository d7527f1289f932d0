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
    time, and that time ÷ gcal_sync's no-change sync (target <= 2.0).

Each timing is repeated (``--repeat``); ratios compare medians (bests shown beside).
Every full sync goes into a fresh SQLite file; set-up is never timed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import requests

from bench.common import (
    REPO_ROOT,
    EmulatorHandle,
    SyncStore,
    count_http_requests,
    count_rows,
    google_emulator_process,
    machine_line,
    new_store,
    peak_rss_line,
    profiled,
    ratio_line,
)
from bench.timing import Measured, Timings, repeat_timed
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


def gcal_sync_timings(handle: EmulatorHandle, repeat: int) -> tuple[Measured[int], Timings]:
    """gcal_sync's full syncs (each into a new in-memory store: items stored) and its
    no-change syncs, timed in a process of its own (``bench/gcal_sync_peer.py``)."""
    request = {
        "base_url": handle.base_url,
        "calendar_id": handle.calendar_id,
        "access_token": handle.grant["access_token"],
        "repeat": repeat,
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench.gcal_sync_peer"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=1800,
        check=True,
    )
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    full, again = answer["full"], answer["no_change"]
    return Measured(Timings(**full["timings"]), int(full["result"])), Timings(**again["timings"])


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
    page_size = GoogleProvider.page_size

    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="syncd-bench-google-"))
    try:
        with google_emulator_process(events, CALENDAR_ID) as handle:
            print(
                f"seeded {events} events into the Google emulator (own process) "
                f"in {handle.seed_seconds:.2f} s; page size {page_size}"
            )
            floor_once(handle, page_size)  # warm the emulator and the connection path
            floor = repeat_timed(repeat, lambda h: floor_once(h, page_size), lambda: handle)
            print(f"FLOOR events.list pages with requests + json: {floor.timings.describe()}")
            print(f"  floor saw {floor.result} items")

            google = OAuthProviderSettings(
                client_id=handle.client_id,
                client_secret=handle.client_secret,
                api_base_url=handle.base_url,
                token_url=handle.token_url,
            )
            stores: list[SyncStore] = []

            def fresh_store() -> SyncStore:
                if stores:
                    stores[-1].close()
                path = folder / f"syncd-{len(stores)}.db"
                stores.append(new_store(path, "google", CALENDAR_ID, handle.grant, google=google))
                return stores[-1]

            full = repeat_timed(repeat, lambda store: store.sync(), fresh_store)
            store = stores[-1]
            stored_events = count_rows(store, "event")
            print(f"SYNCD full sync (sync_profile into SQLite): {full.timings.describe()}")
            print(
                f"  stored {stored_events} events, {count_rows(store, 'occurrence')} "
                f"occurrences, {full.result.pages} pages"
            )
            if stored_events != events:
                raise SystemExit(f"expected {events} stored events, found {stored_events}")
            print(ratio_line("syncd full / floor", full.timings, floor.timings, FLOOR_TARGET))
            print(peak_rss_line("google", CALENDAR_ID, handle.grant, {"google": google}))

            made: list[list[str]] = []

            def incremental(store: SyncStore) -> int:
                with count_http_requests() as requests_made:
                    outcome = store.sync()
                made.append(requests_made)
                return outcome.calendars

            incremental_run = repeat_timed(repeat, incremental, lambda: store)
            per_calendar = max(len(m) for m in made) / max(1, incremental_run.result)
            print(f"SYNCD no-change incremental sync: {incremental_run.timings.describe()}")
            print(
                f"INCREMENTAL requests per calendar: {per_calendar:g} "
                f"({'; '.join(m.split('?')[0] for m in made[-1])}); target 1: "
                f"{'MET' if per_calendar == 1 else 'NOT MET'}"
            )

            if options.skip_gcal_sync or not gcal_sync_available():
                print("GCAL_SYNC skipped")
            else:
                peer, peer_again = gcal_sync_timings(handle, repeat)
                described = peer.timings.describe()
                print(f"GCAL_SYNC full sync (in-memory store, own process): {described}")
                print(f"  gcal_sync stored {peer.result} items")
                if peer.result != events:
                    raise SystemExit(f"gcal_sync stored {peer.result} items, not {events}")
                print(
                    ratio_line(
                        "syncd full / gcal_sync full", full.timings, peer.timings, GCAL_SYNC_TARGET
                    )
                )
                print(f"GCAL_SYNC no-change sync: {peer_again.describe()}")
                print(
                    ratio_line(
                        "syncd no-change / gcal_sync no-change",
                        incremental_run.timings,
                        peer_again,
                        NO_CHANGE_TARGET,
                    )
                )

            if options.profile:
                path = folder / "syncd-profile.db"
                profile_store = new_store(path, "google", CALENDAR_ID, handle.grant, google=google)
                _, report = profiled(profile_store.sync)
                print("PROFILE of one syncd full sync (cProfile):")
                print(report)
                _, report = profiled(profile_store.sync, top=12)
                print("PROFILE of one syncd no-change incremental sync (cProfile):")
                print(report)
                profile_store.close()
            for each in stores:
                each.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
