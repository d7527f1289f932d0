"""Booking page slots (issue 11): how long ``GET <prefix>/rts/<token>`` takes to list slots.

    .venv/bin/python -m bench.slots                      # 5 members x 5,000 events, SQLite
    .venv/bin/python -m bench.slots --postgres postgresql+psycopg://postgres@127.0.0.1:5432/db
    .venv/bin/python -m bench.slots --smoke              # seconds; what CI runs

Set-up (never timed): one application; ``--members`` accounts (5), each with an active
profile and one calendar of ``--events`` busy events (5,000) spread over the next 14 days,
written through the store's own path (``apply_page`` with ``RemoteEvent``s, as
``bench/availability.py`` does). Every day keeps the same three windows free for
everyone (09:00-10:30, 13:00-14:00, 16:00-17:30 UTC), so the page has slots to list. One
Real-Time Scheduling link is created through ``POST /v1/real_time_scheduling`` (the
route the SDKs call): all members required, a 30-minute event, 10-minute buffers,
``start_interval`` 15 minutes, one hour's ``minimum_notice``, the next 14 days.

Measured:

- ``FLOOR``: the availability computation the page uses, in this process with no HTTP
  and no templating: a fresh session, ``link_for_token`` and ``offered_slots`` (what
  ``booking_page`` calls), single-threaded.
- ``PAGE``: a live ``ApiServer`` (in this process, like ``tests/support/browser.py``'s
  ``live_web``) serving the booking page HTML; first one invitee at a time, then
  ``--concurrency`` client threads (20), each with its own ``requests.Session``, sending
  ``--requests`` requests in all (``--clients-process``: those threads in a child
  process). Every answer is checked: 200 and the same slots.
- ``RATIO``: page p50 (p95) at that concurrency over the floor's p50 (p95).

Figures are printed, never asserted. By default the client threads share the server's
process (and its GIL): their own cost is small beside a page render, but it is in the
page figures; ``--clients-process`` takes it out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import Engine

from bench.availability import count_occurrences, database, iso
from bench.common import REPO_ROOT, machine_line
from providers.base import RemoteEvent
from syncd.api.server import ApiServer
from syncd.config import Settings, load_settings
from syncd.ids import new_id
from syncd.scheduling.booking import link_for_token, offered_slots
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import is_sqlite, make_engine, read_only, session_scope, upgrade_schema
from syncd.store.events import ExpansionWindow, apply_page
from syncd.store.models import Calendar
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

DAYS = 14
DURATION_MINUTES = 30
BUFFER_MINUTES = 10
START_INTERVAL_MINUTES = 15
NOTICE_MINUTES = 60
#: Kept free of events every day for every member (minutes after midnight UTC).
FREE_WINDOWS = ((9 * 60, 10 * 60 + 30), (13 * 60, 14 * 60), (16 * 60, 17 * 60 + 30))
PAGE_SIZE = 500


@dataclass
class World:
    engine: Engine
    settings: Settings
    api_key: str
    account_ids: list[str]
    calendar_ids: list[str]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def figures_ms(values: list[float], *fractions: float) -> list[float]:
    return [percentile(values, fraction) * 1000 for fraction in fractions]


def _clear_of_free_windows(start: int, end: int) -> bool:
    """Whether minutes ``[start, end)`` after the first midnight miss every free window."""
    for day in range(start // 1440 - 1, end // 1440 + 1):
        for low, high in FREE_WINDOWS:
            if start < day * 1440 + high and end > day * 1440 + low:
                return False
    return True


def member_events(member: int, events: int, origin: dt.datetime) -> list[RemoteEvent]:
    """``events`` busy events of 15-60 minutes over DAYS days, outside the free windows."""
    rng = random.Random(7000 + member)
    made: list[RemoteEvent] = []
    while len(made) < events:
        start = 15 * rng.randrange(DAYS * 96)
        end = start + rng.choice((15, 30, 45, 60))
        if not _clear_of_free_windows(start, end):
            continue
        uid = f"m{member:02d}-{len(made):05d}"
        made.append(
            RemoteEvent(
                provider_event_id=uid,
                ical_uid=uid,
                start=origin + dt.timedelta(minutes=start),
                end=origin + dt.timedelta(minutes=end),
                tzid="Etc/UTC",
                summary=f"Busy {uid}",
            )
        )
    return made


def build_world(engine: Engine, settings: Settings, members: int, events: int) -> World:
    """The tenant, active members and their calendars; events through ``apply_page``."""
    box = SecretBox(settings.secret_keys)
    now = dt.datetime.now(dt.UTC)
    origin = now.replace(hour=0, minute=0, second=0, microsecond=0)
    account_ids: list[str] = []
    calendar_ids: list[str] = []
    with session_scope(engine) as session:
        created = create_application(session, box, "bench-slots")
        api_key = created.api_key
        for member in range(members):
            account = create_account(
                session, created.application.id, f"member{member}@example.com", f"Member {member}"
            )
            profile = create_profile(
                session, box, account, "caldav", f"member{member}", {"url": "http://unused"}
            )
            profile.sync_status = "active"
            profile.initial_sync_done = True
            profile.last_success_at = now
            session.add(profile)
            calendar = Calendar(
                id=new_id("cal"),
                profile_id=profile.id,
                provider_calendar_id=f"remote-{member}",
                name="Work",
                primary=True,
            )
            session.add(calendar)
            account_ids.append(account.id)
            calendar_ids.append(calendar.id)
    window = ExpansionWindow(origin - dt.timedelta(days=1), origin + dt.timedelta(days=DAYS + 2))
    for member, calendar_id in enumerate(calendar_ids):
        made = member_events(member, events, origin)
        for first in range(0, len(made), PAGE_SIZE):
            with session_scope(engine) as session:
                calendar = session.get(Calendar, calendar_id)
                assert calendar is not None
                page = made[first : first + PAGE_SIZE]
                result = apply_page(session, calendar, page, [], 1, window, "Etc/UTC")
                if result.skipped:
                    raise RuntimeError(f"apply_page skipped {result.skipped} items")
    return World(engine, settings, api_key, account_ids, calendar_ids)


def link_body(world: World, now: dt.datetime) -> dict[str, Any]:
    """The RTS request: every member required, buffers, start interval, notice."""
    return {
        "oauth": {"redirect_uri": "https://app.example.com/booked"},
        "event": {"summary": "Benchmark meeting", "tzid": "Europe/London"},
        "availability": {
            "participants": [
                {"members": [{"sub": sub} for sub in world.account_ids], "required": "all"}
            ],
            "required_duration": {"minutes": DURATION_MINUTES},
            "buffer": {
                "before": {"minutes": BUFFER_MINUTES},
                "after": {"minutes": BUFFER_MINUTES},
            },
            "start_interval": {"minutes": START_INTERVAL_MINUTES},
            "query_periods": [{"start": iso(now), "end": iso(now + dt.timedelta(days=DAYS))}],
        },
        "target_calendars": [{"sub": world.account_ids[0], "calendar_id": world.calendar_ids[0]}],
        "minimum_notice": {"minutes": NOTICE_MINUTES},
        "tzid": "Europe/London",
    }


def create_link(world: World, server: ApiServer) -> str:
    """``POST /v1/real_time_scheduling``; answers the booking page's URL."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    response = requests.post(
        server.url + "/v1/real_time_scheduling",
        json=link_body(world, now),
        headers={"Authorization": f"Bearer {world.api_key}"},
        timeout=60,
    )
    if response.status_code != 200:
        raise RuntimeError(f"creating the link answered {response.status_code}: {response.text}")
    url: str = response.json()["real_time_scheduling"]["url"]
    return url


def bench_floor(world: World, token: str, runs: int) -> tuple[list[float], int]:
    """``offered_slots`` as the page calls it, in process; (seconds per run, slots)."""
    seconds: list[float] = []
    slots = 0
    engine = read_only(world.engine)
    bound = world.settings.staleness_bound
    for attempt in range(runs + 1):  # the first run warms up (statements, caches): not counted
        started = time.perf_counter()
        with session_scope(engine) as session:
            link = link_for_token(session, token)
            offer = offered_slots(session, link, dt.datetime.now(dt.UTC), bound)
        if attempt:
            seconds.append(time.perf_counter() - started)
        if offer.blocked_reason or offer.closed_message:
            raise RuntimeError(f"no slots: {offer.blocked_reason or offer.closed_message}")
        slots = len(offer.slots)
    return seconds, slots


SLOT_MARK = re.compile(r"\bdata-slot\b")


def fetch_page(http: requests.Session, url: str) -> tuple[float, int, int]:
    """(seconds, status, slots on the page) of one page load."""
    started = time.perf_counter()
    response = http.get(url, timeout=120)
    elapsed = time.perf_counter() - started
    return elapsed, response.status_code, len(SLOT_MARK.findall(response.text))


@dataclass
class Load:
    seconds: list[float]
    wall: float
    errors: int
    slot_counts: set[int]
    page_bytes: int


def bench_page(url: str, concurrency: int, total: int) -> Load:
    """``total`` page loads from ``concurrency`` threads, a ``requests.Session`` each."""
    local = threading.local()
    lock = threading.Lock()
    seconds: list[float] = []
    slot_counts: set[int] = set()
    errors = [0]

    def one(_: int) -> None:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = requests.Session()
            http.trust_env = False
        elapsed, status, slots = fetch_page(http, url)
        with lock:
            seconds.append(elapsed)
            slot_counts.add(slots)
            errors[0] += status != 200

    page_bytes = len(requests.get(url, timeout=120).content)
    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    return Load(seconds, time.perf_counter() - began, errors[0], slot_counts, page_bytes)


def bench_page_from_child(url: str, concurrency: int, total: int) -> Load:
    """:func:`bench_page` run in a process of its own, so the clients do not share the
    server's GIL."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.slots", "_clients", url, str(concurrency), str(total)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    data = json.loads(completed.stdout)
    return Load(
        data["seconds"], data["wall"], data["errors"], set(data["slot_counts"]), data["bytes"]
    )


def _clients(argv: list[str]) -> None:
    """The child side of :func:`bench_page_from_child`: ``URL CONCURRENCY TOTAL``."""
    url, concurrency, total = argv
    load = bench_page(url, int(concurrency), int(total))
    answer = {
        "seconds": load.seconds,
        "wall": load.wall,
        "errors": load.errors,
        "slot_counts": sorted(load.slot_counts),
        "bytes": load.page_bytes,
    }
    print(json.dumps(answer))


def run(url: str, options: argparse.Namespace) -> None:
    backend = "sqlite" if is_sqlite(url) else "postgres"
    settings = load_settings(
        database_url=url,
        secret_keys=[generate_key()],
        log_level="WARNING",
        web={"cookie_secure": False},
    )
    engine = make_engine(url)
    try:
        upgrade_schema(engine)
        started = time.perf_counter()
        world = build_world(engine, settings, options.members, options.events)
        print(
            f"DATA {backend}: {options.members} members x {options.events} events over {DAYS} "
            f"days ({count_occurrences(engine)} occurrence rows) stored through apply_page in "
            f"{time.perf_counter() - started:.1f} s"
        )
        server = ApiServer(settings, engine, host="127.0.0.1", port=0)
        server.start()
        try:
            measure(world, server, backend, options)
        finally:
            server.stop()
    finally:
        engine.dispose()


def measure(world: World, server: ApiServer, backend: str, options: argparse.Namespace) -> None:
    page_url = create_link(world, server)
    token = page_url.rsplit("/", 1)[1]
    path = page_url.removeprefix(server.url)
    floor, slots = bench_floor(world, token, options.floor_runs)
    print(
        f"LINK {backend}: {options.members} members required, {DURATION_MINUTES} min, buffers "
        f"{BUFFER_MINUTES}/{BUFFER_MINUTES} min, start_interval {START_INTERVAL_MINUTES} min, "
        f"minimum_notice {NOTICE_MINUTES} min, {DAYS} days: {slots} slots offered"
    )
    f50, f95 = figures_ms(floor, 0.50, 0.95)
    print(
        f"FLOOR {backend} link_for_token + offered_slots in process (no HTTP, no templating), "
        f"1 thread, {len(floor)} runs: p50 {f50:.1f} ms, p95 {f95:.1f} ms"
    )
    with requests.Session() as http:
        http.trust_env = False
        fetch_page(http, page_url)  # warm-up, not counted
        single = [fetch_page(http, page_url) for _ in range(options.floor_runs)]
    s50, s95 = figures_ms([s for s, _status, _slots in single], 0.50, 0.95)
    print(
        f"PAGE {backend} GET {path.split('/rts/')[0]}/rts/<token>, 1 invitee at a time, "
        f"{len(single)} requests: p50 {s50:.1f} ms, p95 {s95:.1f} ms"
    )
    if options.clients_process:
        load = bench_page_from_child(page_url, options.concurrency, options.requests)
    else:
        load = bench_page(page_url, options.concurrency, options.requests)
    where = (
        "clients in a process of their own"
        if options.clients_process
        else "clients in this process"
    )
    p50, p95, p99 = figures_ms(load.seconds, 0.50, 0.95, 0.99)
    print(
        f"PAGE {backend} GET {path.split('/rts/')[0]}/rts/<token>, {options.concurrency} "
        f"concurrent invitees ({where}), {len(load.seconds)} requests: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms, {len(load.seconds) / load.wall:.1f} requests/s, {load.errors} errors"
    )
    same = load.slot_counts == {slots} and {n for _s, _st, n in single} == {slots}
    print(
        f"CHECK {backend} every page lists the floor's {slots} slots: "
        f"{'yes' if same else 'NO: ' + str(sorted(load.slot_counts))} "
        f"(page {load.page_bytes / 1024:.0f} KiB of HTML)"
    )
    print(
        f"RATIO {backend} page at {options.concurrency} invitees / floor: "
        f"p50 {p50 / f50:.1f}, p95 {p95 / f95:.1f}; one invitee / floor: p50 {s50 / f50:.2f}"
    )
    print(machine_line())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_clients"]:
        _clients(argv[1:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--postgres", metavar="URL", help="also run on this Postgres server")
    parser.add_argument("--members", type=int, default=None, help="default 5 (smoke 3)")
    parser.add_argument("--events", type=int, default=None, help="per member; 5000 (smoke 200)")
    parser.add_argument("--concurrency", type=int, default=None, help="invitees; 20 (smoke 4)")
    parser.add_argument("--requests", type=int, default=None, help="in all; 400 (smoke 20)")
    parser.add_argument("--floor-runs", type=int, default=None, help="30 (smoke 5)")
    parser.add_argument(
        "--clients-process",
        action="store_true",
        help="run the concurrent invitees in a child process (not sharing the server's GIL)",
    )
    options = parser.parse_args(argv)
    smoke = options.smoke
    options.members = options.members or (3 if smoke else 5)
    options.events = options.events or (200 if smoke else 5000)
    options.concurrency = options.concurrency or (4 if smoke else 20)
    options.requests = options.requests or (20 if smoke else 400)
    options.floor_runs = options.floor_runs or (5 if smoke else 30)
    print(machine_line())
    print(f"command: python -m bench.slots {' '.join(argv)}")
    with database(None) as url:
        run(url, options)
    if options.postgres:
        with database(options.postgres) as url:
            run(url, options)


if __name__ == "__main__":
    main()
