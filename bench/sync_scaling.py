"""How CalDAV and Google full syncs scale with calendar size: time per event and peak RSS.

    .venv/bin/python -m bench.sync_scaling                       # 1,000 / 5,000 / 20,000 events
    .venv/bin/python -m bench.sync_scaling --sizes 200 400 --repeat 1   # smoke (CI)
    .venv/bin/python -m bench.sync_scaling --providers google    # one provider only

Runs ``bench.sync_caldav`` and ``bench.sync_google`` once per size, one after the other in
this run (each seeds its own server and times its own figures; vdirsyncer and gcal_sync
are skipped here, they have their own figures in those benchmarks), and prints one table:
syncd's full-sync median, its cost per event, that cost ÷ the cost at the reference size
(5,000, or the middle size given), and the peak RSS of one full sync in a process of its
own. For CalDAV it also prints the server's own time answering the one REPORT a full
sync asks (``SERVER`` in ``bench.sync_caldav``) and syncd's cost per event without it:
Radicale's answer grows faster than linearly with the collection. Targets: per-event
cost at the largest size within 1.2× of the reference; peak RSS under 300 MB at the
largest size.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass

from bench.common import REPO_ROOT, machine_line

PER_EVENT_TARGET = 1.2
RSS_TARGET_MB = 300
_SYNCD = re.compile(r"^SYNCD full sync .*: median (\d+\.\d+) s.*?load (\d+\.\d+)-(\d+\.\d+)", re.M)
_FLOOR = re.compile(r"^FLOOR .*: median (\d+\.\d+) s", re.M)
_SERVER = re.compile(r"^SERVER .*: median (\d+\.\d+) s", re.M)
_RSS = re.compile(r"^RSS syncd full sync peak: (\d+) MB", re.M)
_SKIP = {"caldav": ["--skip-vdirsyncer"], "google": ["--skip-gcal-sync"]}


@dataclass
class Point:
    provider: str
    events: int
    seconds: float
    floor_seconds: float
    rss_mb: float
    load: str
    #: The server's own time answering what a full sync asks (CalDAV only), or None.
    server_seconds: float | None = None

    @property
    def per_event_ms(self) -> float:
        return self.seconds / self.events * 1000

    @property
    def server_per_event_ms(self) -> float | None:
        """The server's answer time per event (CalDAV only)."""
        if self.server_seconds is None:
            return None
        return self.server_seconds / self.events * 1000

    @property
    def own_per_event_ms(self) -> float | None:
        """syncd's share per event: the full sync less the server's answer time."""
        server = self.server_per_event_ms
        return None if server is None else self.per_event_ms - server


def measure(provider: str, events: int, repeat: int) -> Point:
    """One run of the provider's benchmark at this size; its figures parsed from stdout."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            f"bench.sync_{provider}",
            "--events",
            str(events),
            "--repeat",
            str(repeat),
            *_SKIP[provider],
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench.sync_{provider} --events {events} failed:\n{completed.stderr}")
    output = completed.stdout
    syncd, floor, rss = _SYNCD.search(output), _FLOOR.search(output), _RSS.search(output)
    server = _SERVER.search(output)
    if syncd is None or floor is None or rss is None:
        raise SystemExit(f"unexpected output of bench.sync_{provider}:\n{output}")
    return Point(
        provider,
        events,
        float(syncd[1]),
        float(floor[1]),
        float(rss[1]),
        f"{syncd[2]}-{syncd[3]}",
        float(server[1]) if server else None,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--providers", nargs="+", default=["caldav", "google"])
    options = parser.parse_args(argv)
    sizes = sorted(options.sizes)
    reference = 5000 if 5000 in sizes else sizes[len(sizes) // 2]
    print(machine_line())
    print(f"sizes {sizes}, reference size {reference}, {options.repeat} runs per figure")
    print(
        "SCALING | provider | events | syncd full median | per event | floor median "
        "| server answer median | syncd's own per event | peak RSS | load during runs"
    )
    for provider in options.providers:
        points = []
        for events in sizes:
            point = measure(provider, events, options.repeat)
            points.append(point)
            server = "-" if point.server_seconds is None else f"{point.server_seconds:.3f} s"
            own = point.own_per_event_ms
            print(
                f"SCALING | {provider} | {events} | {point.seconds:.3f} s | "
                f"{point.per_event_ms:.3f} ms | {point.floor_seconds:.3f} s | {server} | "
                f"{'-' if own is None else f'{own:.3f} ms'} | {point.rss_mb:.0f} MB | "
                f"{point.load}",
                flush=True,
            )
        base = next(p for p in points if p.events == reference)
        largest = points[-1]
        growth = largest.per_event_ms / base.per_event_ms
        verdict = "MET" if growth <= PER_EVENT_TARGET else "NOT MET"
        for point in points:
            print(
                f"  {provider} {point.events}: per event {point.per_event_ms:.3f} ms = "
                f"{point.per_event_ms / base.per_event_ms:.2f}x the {reference}-event cost"
            )
        print(
            f"RATIO {provider} per-event cost {largest.events} / {reference}: {growth:.2f}; "
            f"target <= {PER_EVENT_TARGET:.2f}: {verdict}"
        )
        own_base, own_largest = base.own_per_event_ms, largest.own_per_event_ms
        server_base, server_largest = base.server_per_event_ms, largest.server_per_event_ms
        if own_base and own_largest and server_base and server_largest:
            print(
                f"  {provider} without the server's answer time: per event "
                f"{own_largest:.3f} / {own_base:.3f} ms = {own_largest / own_base:.2f}x; "
                f"the server's answer alone: {server_largest:.3f} / {server_base:.3f} ms "
                f"= {server_largest / server_base:.2f}x"
            )
        print(
            f"RSS {provider} at {largest.events}: {largest.rss_mb:.0f} MB; target < "
            f"{RSS_TARGET_MB} MB: {'MET' if largest.rss_mb < RSS_TARGET_MB else 'NOT MET'}"
        )
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
