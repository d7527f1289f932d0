"""How fast the CalDAV adapter syncs one big calendar, against a floor and against vdirsyncer.

    .venv/bin/python bench/caldav_sync.py --events 5000
    .venv/bin/python bench/caldav_sync.py --events 200      # smoke size

Figures printed (seconds unless said otherwise):
- floor: one raw ``calendar-query`` REPORT downloading every item, then parsing every
  item with icalendar: no client can do a full sync with less work;
- adapter full sync (sync-collection, and forced etag fallback): every page consumed and
  every item turned into a RemoteEvent;
- adapter incremental sync with nothing changed: requests per calendar and time;
- ``vdirsyncer sync`` of the same collection into a local folder, first and no-change.

Only the adapter is measured; the database side of a sync belongs to the engine benchmark,
which can reuse :func:`syncd.radicale_server.seeded_radicale` to get the same data.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import icalendar
import requests
from lxml import etree

from providers.base import RemoteCalendar
from providers.caldav import CalDAVProvider
from providers.caldav.webdav import sync_collection_body
from syncd.radicale_server import seeded_radicale

USER = "bench"
CALENDAR = "big"
PASSWORD = "bench-password"  # the server runs with auth-type none; any password works

CALENDAR_QUERY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    b"<D:prop><D:getetag/><C:calendar-data/></D:prop>"
    b'<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
)


def best_of(repeat: int, measure: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs (the least disturbed by the machine), and its result."""
    timings: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = measure()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def floor_download(calendar_url: str) -> bytes:
    response = requests.request(
        "REPORT",
        calendar_url,
        data=CALENDAR_QUERY,
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        auth=(USER, PASSWORD),
        timeout=600,
    )
    response.raise_for_status()
    return response.content


def server_answer(calendar_url: str) -> int:
    """The answer syncd's full sync asks for (a sync-collection REPORT with no token, etags
    and data), downloaded and not parsed: the server's share of a full sync. Returns its
    size in bytes."""
    response = requests.request(
        "REPORT",
        calendar_url,
        data=sync_collection_body("", ["D:getetag", "C:calendar-data"]),
        headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
        auth=(USER, PASSWORD),
        timeout=600,
    )
    response.raise_for_status()
    return len(response.content)


def floor_parse(body: bytes) -> int:
    root = etree.fromstring(body, parser=etree.XMLParser(huge_tree=True))
    texts = [e.text for e in root.iter("{urn:ietf:params:xml:ns:caldav}calendar-data")]
    return len([icalendar.Calendar.from_ical(text) for text in texts if text])


def adapter_full_sync(provider: CalDAVProvider, calendar: RemoteCalendar) -> tuple[int, str]:
    events = 0
    cursor = ""
    for page in provider.sync_events(calendar, None):
        events += len(page.upserts)
        cursor = page.cursor or cursor
    return events, cursor


def adapter_incremental(
    provider: CalDAVProvider, calendar: RemoteCalendar, cursor: str
) -> tuple[float, int, int]:
    """Time, requests made and changes seen by one incremental sync."""
    requests_made: list[str] = []

    def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        requests_made.append(str(response.request.method))

    provider.session.hooks["response"].append(count)
    started = time.perf_counter()
    changes = sum(len(p.upserts) + len(p.deletions) for p in provider.sync_events(calendar, cursor))
    elapsed = time.perf_counter() - started
    provider.session.hooks["response"].remove(count)
    return elapsed, len(requests_made), changes


def vdirsyncer_config(folder: Path, calendar_url: str) -> Path:
    (folder / "vdir").mkdir(parents=True, exist_ok=True)
    config = folder / "vdirsyncer.conf"
    config.write_text(
        f"""[general]
status_path = "{folder / "status"}/"

[pair bench]
a = "bench_remote"
b = "bench_local"
collections = null
conflict_resolution = "a wins"

[storage bench_remote]
type = "caldav"
url = "{calendar_url}"
username = "{USER}"
password = "{PASSWORD}"

[storage bench_local]
type = "filesystem"
path = "{folder / "vdir"}/"
fileext = ".ics"
"""
    )
    return config


def vdirsyncer_binary() -> str:
    beside_python = Path(sys.executable).with_name("vdirsyncer")
    return str(beside_python) if beside_python.exists() else (shutil.which("vdirsyncer") or "")


def run_vdirsyncer(config: Path, *arguments: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [vdirsyncer_binary(), "-c", str(config), *arguments],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        input=b"y\n" * 4,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="events in the calendar")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (best kept)")
    parser.add_argument("--skip-vdirsyncer", action="store_true")
    parser.add_argument(
        "--storage",
        type=Path,
        default=None,
        help="keep Radicale's storage here; a second run reuses its item cache, which "
        "skips the server's one-off parse of every seeded file (minutes at 5,000 events)",
    )
    options = parser.parse_args(argv)

    started = time.perf_counter()
    seeded = seeded_radicale(options.events, USER, CALENDAR, storage_folder=options.storage)
    with seeded as (_server, calendar_url):
        print(
            f"seeded {options.events} events and warmed the server in "
            f"{time.perf_counter() - started:.2f}s"
        )
        credentials = {"url": calendar_url, "username": USER, "password": PASSWORD}

        # Radicale builds a sync-token history cache on the first sync-collection; pay it
        # once here so the figures compare steady-state servers.
        warm_provider = CalDAVProvider(credentials)
        warm_seconds, _ = best_of(
            1, lambda: adapter_full_sync(warm_provider, warm_provider.list_calendars()[0])
        )
        print(f"first sync-collection on a fresh server (history cache build): {warm_seconds:.2f}")

        download_seconds, body = best_of(options.repeat, lambda: floor_download(calendar_url))
        parse_seconds, parsed = best_of(options.repeat, lambda: floor_parse(body))
        floor = download_seconds + parse_seconds
        print(
            f"floor: calendar-query download {download_seconds:.2f} ({len(body) / 1e6:.1f} MB) "
            f"+ icalendar parse {parse_seconds:.2f} = {floor:.2f} for {parsed} items"
        )

        results: dict[str, tuple[float, str]] = {}
        for mode in ("sync", "etag"):
            provider = CalDAVProvider(credentials, sync_mode=mode)  # type: ignore[arg-type]
            calendar = provider.list_calendars()[0]
            seconds, (events, cursor) = best_of(
                options.repeat, lambda p=provider, c=calendar: adapter_full_sync(p, c)
            )
            results[mode] = (seconds, cursor)
            print(
                f"adapter full sync ({mode} mode): {seconds:.2f} for {events} events "
                f"= {seconds / floor:.2f}x floor"
            )
            inc_seconds, inc_requests, changes = adapter_incremental(provider, calendar, cursor)
            print(
                f"adapter no-change incremental ({mode} mode): {inc_requests} request(s), "
                f"{inc_seconds * 1000:.0f} ms, {changes} changes"
            )

        if options.skip_vdirsyncer or not vdirsyncer_binary():
            print("vdirsyncer: skipped")
            return
        with tempfile.TemporaryDirectory(prefix="syncd-vdirsyncer-") as scratch:
            config = vdirsyncer_config(Path(scratch), calendar_url)
            discover_seconds = run_vdirsyncer(config, "discover")
            first_seconds = run_vdirsyncer(config, "sync")
            again_seconds = run_vdirsyncer(config, "sync")
            copied = len(list((Path(scratch) / "vdir").glob("*.ics")))
            print(
                f"vdirsyncer: discover {discover_seconds:.2f}, first sync {first_seconds:.2f} "
                f"({copied} files) = {first_seconds / floor:.2f}x floor, "
                f"no-change sync {again_seconds:.2f}"
            )
            print(
                f"adapter full sync vs vdirsyncer first sync: "
                f"{results['sync'][0]:.2f} vs {first_seconds:.2f}"
            )


if __name__ == "__main__":
    main()
