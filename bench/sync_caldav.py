"""End-to-end CalDAV sync through the real engine (``sync_profile`` into SQLite).

    .venv/bin/python -m bench.sync_caldav                # 5,000 events, 3 runs per figure
    .venv/bin/python -m bench.sync_caldav --smoke        # 200 events, 1 run (CI)
    .venv/bin/python -m bench.sync_caldav --profile      # + cProfile of one full sync

A Radicale server is started on 127.0.0.1 with the calendar written straight into its
storage (every tenth event a weekly series of 10, times in Europe/Berlin, spread from
up to 60 days ago onwards so the engine's expansion window holds most of them). Figures:

(a) syncd full sync of a new profile ÷ the floor (one raw ``calendar-query`` REPORT of
    the same data with requests + parsing every item with icalendar, single-threaded),
    target <= 0.8;
(b) syncd full sync ÷ ``vdirsyncer sync`` of the same collection into a local folder
    (after ``vdirsyncer discover``, untimed), target <= 1.0;
(c) no-change incremental sync: provider HTTP requests per calendar (target 1), its time,
    and that time ÷ vdirsyncer's no-change sync (target <= 0.2);
and the peak RSS of one syncd full sync in a process of its own (target < 300 MB).

Each timing is repeated (``--repeat``); ratios compare medians (bests shown beside).
Every full sync goes into a fresh SQLite file; set-up is never timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench.caldav_sync import (
    CALENDAR,
    PASSWORD,
    USER,
    floor_download,
    floor_parse,
    run_vdirsyncer,
    server_answer,
    vdirsyncer_binary,
    vdirsyncer_config,
)
from bench.common import (
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
from bench.timing import Timings, repeat_timed
from providers.caldav import CalDAVProvider
from syncd.radicale_server import RadicaleServer, sample_series, seed_calendar_files

FLOOR_TARGET = 0.8
VDIRSYNCER_TARGET = 1.0
NO_CHANGE_TARGET = 0.2
SMOKE_EVENTS = 200


def seed_and_start(folder: Path, events: int) -> tuple[RadicaleServer, str]:
    """Write ``events`` sample events into Radicale storage, start it and warm it up.

    Warm-up: a PROPFIND (Radicale parses every item once on first read) and one
    sync-collection (Radicale builds its sync-token history on the first one), so every
    measured client sees the same steady-state server.
    """
    span_days = events * 3 // 24  # sample_series puts one event every three hours
    first_day = dt.date.today() - dt.timedelta(days=min(60, span_days // 2))
    seed_calendar_files(folder / "storage", USER, CALENDAR, sample_series(events, first_day))
    # Radicale answers a calendar-query with at most 10,000 items by default (the floor
    # then gets a 400): allow the whole calendar.
    cap = ["--reporting-max-expand-occurrence", str(max(10_000, 2 * events))]
    server = RadicaleServer(folder / "storage", extra_arguments=cap).start()
    calendar_url = server.calendar_url(USER, CALENDAR)
    warm = requests.request(
        "PROPFIND", calendar_url, headers={"Depth": "1"}, auth=(USER, PASSWORD), timeout=600
    )
    warm.raise_for_status()
    provider = CalDAVProvider({"url": calendar_url, "username": USER, "password": PASSWORD})
    for _ in provider.sync_events(provider.list_calendars()[0], None):
        pass
    provider.close()
    return server, calendar_url


def floor_once(calendar_url: str) -> int:
    """Download everything with one calendar-query REPORT and parse every item."""
    return floor_parse(floor_download(calendar_url))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=None, help="events (default 5000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--smoke", action="store_true", help="200 events, 1 run: for CI")
    parser.add_argument("--skip-vdirsyncer", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one more full sync")
    options = parser.parse_args(argv)
    events = options.events or (SMOKE_EVENTS if options.smoke else 5000)
    repeat = options.repeat or (1 if options.smoke else 3)

    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="syncd-bench-caldav-"))
    server: RadicaleServer | None = None
    try:
        started = time.perf_counter()
        server, calendar_url = seed_and_start(folder, events)
        print(
            f"seeded {events} events into Radicale storage and warmed the server "
            f"in {time.perf_counter() - started:.2f} s"
        )
        credentials = {"url": calendar_url, "username": USER, "password": PASSWORD}

        floor = repeat_timed(repeat, lambda url: floor_once(url), lambda: calendar_url)
        print(f"FLOOR calendar-query REPORT + icalendar parse: {floor.timings.describe()}")
        print(f"  floor parsed {floor.result} items")
        server_share = repeat_timed(repeat, server_answer, lambda: calendar_url)
        print(
            f"SERVER sync-collection answer (what a full sync asks, downloaded, not parsed): "
            f"{server_share.timings.describe()}; {server_share.result / 1e6:.1f} MB"
        )

        stores: list[SyncStore] = []

        def fresh_store() -> SyncStore:
            if stores:
                stores[-1].close()
            stores.append(
                new_store(folder / f"syncd-{len(stores)}.db", "caldav", USER, credentials)
            )
            return stores[-1]

        full = repeat_timed(repeat, lambda store: store.sync(), fresh_store)
        store = stores[-1]
        print_full_sync(store, full.timings, full.result.pages, events)
        print(ratio_line("syncd full / floor", full.timings, floor.timings, FLOOR_TARGET))
        print(peak_rss_line("caldav", USER, credentials, {}))

        made: list[list[str]] = []

        def incremental(store: SyncStore) -> int:
            with count_http_requests() as requests_made:
                outcome = store.sync()
            made.append(requests_made)
            return outcome.calendars

        incremental_run = repeat_timed(repeat, incremental, lambda: store)
        calendars = incremental_run.result
        print_no_change(incremental_run.timings, made, calendars)

        if options.skip_vdirsyncer or not vdirsyncer_binary():
            print("VDIRSYNCER skipped")
        else:
            measure_vdirsyncer(folder, calendar_url, repeat, full.timings, incremental_run.timings)

        if options.profile:
            print_profiles(new_store(folder / "syncd-profile.db", "caldav", USER, credentials))
        for each in stores:
            each.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def measure_vdirsyncer(
    folder: Path, calendar_url: str, repeat: int, syncd_full: Timings, syncd_again: Timings
) -> None:
    """Time ``vdirsyncer sync`` into a fresh local folder (after an untimed discover)."""
    runs: list[Path] = []

    def prepare() -> Path:
        scratch = folder / f"vdirsyncer-{len(runs)}"
        config = vdirsyncer_config(scratch, calendar_url)
        run_vdirsyncer(config, "discover")
        runs.append(scratch)
        return config

    first = repeat_timed(repeat, lambda config: run_vdirsyncer(config, "sync"), prepare)
    copied = len(list((runs[-1] / "vdir").glob("*.ics")))
    print(f"VDIRSYNCER first sync (fresh folder): {first.timings.describe()}")
    started = time.perf_counter()
    subprocess.run([vdirsyncer_binary(), "--version"], check=True, capture_output=True)
    print(
        f"  copied {copied} files; vdirsyncer process start-up alone "
        f"{time.perf_counter() - started:.3f} s (included in its figure)"
    )
    print(ratio_line("syncd full / vdirsyncer sync", syncd_full, first.timings, VDIRSYNCER_TARGET))
    again = repeat_timed(
        repeat, lambda config: run_vdirsyncer(config, "sync"), lambda: runs[-1] / "vdirsyncer.conf"
    )
    print(f"VDIRSYNCER no-change sync: {again.timings.describe()}")
    print(
        ratio_line(
            "syncd no-change / vdirsyncer no-change", syncd_again, again.timings, NO_CHANGE_TARGET
        )
    )


if __name__ == "__main__":
    main()
