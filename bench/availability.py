"""How fast availability is answered: against a raw SQL floor, against Radicale, and under load.

    .venv/bin/python -m bench.availability                       # SQLite, full size
    .venv/bin/python -m bench.availability --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.availability --smoke               # seconds; what CI runs
    .venv/bin/python -m bench.availability --in-process-only     # section 1 only

Data: ``--members`` accounts (10), each with one calendar of ``--events`` events (5,000)
over 90 days, written through the real store path (``apply_page`` with ``RemoteEvent``s,
so recurring series are expanded into real occurrence rows): about 10 % of the events are
instances of weekly series in Europe/Berlin (across the March DST change), the rest single
events of 15-90 minutes in working hours (UTC). On Postgres everything lives in a private
schema that is dropped at the end.

Figures printed (every line that starts with a capitalised word is a figure):

1. ``IN-PROCESS``: one availability query (all members in one ``required: "all"`` group,
   30-day period, 30-minute duration) computed the way the route does it, with the same
   functions (``read_busy_microseconds`` → ``Member.from_microseconds``/
   ``ParticipantGroup`` → ``evaluate_availability``), against the floor: one raw indexed
   ``SELECT`` of the same busy rows through the driver. The route handler itself
   (``availability(...)`` called with the same session; adds tenancy checks and the
   response model) is printed too, and so is the path the route took before issue 3's
   fix (``read_spans`` → ``Interval``/``Member``), for comparison on the same machine.
   Target: core / floor <= 2.0.
2. ``RADICALE``: ``POST /v1/availability`` for one member over the same 30 days on a
   running ``ApiServer``, against Radicale's ``free-busy-query`` REPORT on that member's
   calendar (same events seeded as .ics files; Radicale warmed first). Both answers are
   checked to describe the same busy time. Target: syncd / Radicale <= 0.1.
3. ``LOAD``: requests/s and p50/p99 latency of a 3-member, 1-week availability query at a
   few concurrency levels (``wrk`` if installed, else a bounded Python load generator in
   its own process).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import os
import platform
import pstats
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import DateTime, Engine, create_engine, text
from sqlmodel import Session

from providers.base import RemoteEvent
from syncd.api.auth import Caller
from syncd.api.routes.availability import availability as availability_route
from syncd.api.server import ApiServer
from syncd.availability import (
    AvailabilityQuery,
    AvailableTime,
    Interval,
    Member,
    ParticipantGroup,
    evaluate_availability,
)
from syncd.config import Settings, load_settings
from syncd.cronofy.availability import AvailabilityRequest
from syncd.ids import new_id
from syncd.radicale_server import RadicaleServer, sample_event_ics, seed_calendar_files
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import is_sqlite, make_engine, read_only, session_scope, upgrade_schema
from syncd.store.events import ExpansionWindow, apply_page, read_busy_microseconds, read_spans
from syncd.store.models import Calendar, UTCDateTime
from syncd.store.profiles import create_profile
from syncd.store.queries import accounts_of_application, calendar_ids_by_account
from syncd.store.tenants import create_account, create_application

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The 90 days of data start here (a Monday; Europe/Berlin changes to summer time on the 31st).
ORIGIN = dt.datetime(2030, 3, 4, tzinfo=dt.UTC)
DATA_DAYS = 90
#: The availability query covers days 30-60 of the data.
QUERY_START = ORIGIN + dt.timedelta(days=30)
QUERY_DAYS = 30
LOAD_QUERY_DAYS = 7
DURATION_MINUTES = 30
SERIES_LENGTH = 10  # weekly instances per recurring series
SERIES_ZONE = "Europe/Berlin"

BERLIN_VTIMEZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)

FLOOR_SQL = (
    "SELECT calendar_id, start_utc, end_utc FROM occurrence "
    "WHERE calendar_id IN ({ids}) AND start_utc < {p} AND end_utc > {p}"
)

FREE_BUSY_QUERY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<C:time-range start="{start}" end="{end}"/></C:free-busy-query>'
)


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


@dataclass
class Timings:
    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)

    def ms(self) -> str:
        return f"median {self.median * 1000:.2f} ms, best {self.best * 1000:.2f} ms"


def timed(timings: Timings, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    timings.runs.append(time.perf_counter() - started)
    return result


def ratio_line(label: str, numerator: Timings, denominator: Timings, target: float) -> str:
    by_median = numerator.median / denominator.median
    verdict = "MET" if by_median <= target else "NOT MET"
    return (
        f"RATIO {label}: {by_median:.3f} (median) / {numerator.best / denominator.best:.3f} "
        f"(best); target <= {target:g}: {verdict}"
    )


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    uid: str
    start: dt.datetime  # aware; in SERIES_ZONE for series, UTC otherwise
    end: dt.datetime
    tzid: str
    rrule: str | None = None

    def remote_event(self) -> RemoteEvent:
        return RemoteEvent(
            provider_event_id=self.uid,
            ical_uid=self.uid,
            start=self.start,
            end=self.end,
            tzid=self.tzid,
            summary=f"Event {self.uid}",
            recurrence=[f"RRULE:{self.rrule}"] if self.rrule else [],
        )

    def ics(self) -> str:
        naive = self.tzid != "Etc/UTC"
        text = sample_event_ics(
            self.uid,
            f"Event {self.uid}",
            self.start.replace(tzinfo=None) if naive else self.start,
            self.end.replace(tzinfo=None) if naive else self.end,
            tzid=self.tzid if naive else None,
            rrule=self.rrule,
        )
        # The RRULE-style VTIMEZONE that calendar clients send: Radicale (vobject) reads the
        # RDATE-style one sample_event_ics writes as if there were no summer time.
        return re.sub(
            r"BEGIN:VTIMEZONE.*?END:VTIMEZONE\r\n", BERLIN_VTIMEZONE, text, flags=re.DOTALL
        )


def member_events(member: int, events: int) -> list[EventSpec]:
    """``events`` occurrences over DATA_DAYS for one member: ~10 % from weekly series."""

    rng = random.Random(1000 + member)
    zone = ZoneInfo(SERIES_ZONE)
    series = events // (10 * SERIES_LENGTH)
    specs: list[EventSpec] = []
    for index in range(series):
        day = ORIGIN.date() + dt.timedelta(days=rng.randrange(DATA_DAYS - 7 * SERIES_LENGTH + 7))
        start = dt.datetime.combine(day, dt.time(rng.randrange(8, 18), rng.choice((0, 30))), zone)
        specs.append(
            EventSpec(
                f"m{member:02d}-series-{index:05d}",
                start,
                start + dt.timedelta(minutes=rng.choice((30, 60))),
                SERIES_ZONE,
                rrule=f"FREQ=WEEKLY;COUNT={SERIES_LENGTH}",
            )
        )
    for index in range(events - series * SERIES_LENGTH):
        start = ORIGIN + dt.timedelta(
            days=rng.randrange(DATA_DAYS), minutes=7 * 60 + 15 * rng.randrange(48)
        )
        specs.append(
            EventSpec(
                f"m{member:02d}-single-{index:05d}",
                start,
                start + dt.timedelta(minutes=rng.choice((15, 30, 45, 60, 90))),
                "Etc/UTC",
            )
        )
    return specs


@dataclass
class World:
    engine: Engine
    settings: Settings
    application_id: str
    api_key: str
    account_ids: list[str]
    calendar_ids: list[str]
    specs: list[list[EventSpec]]


def build_world(engine: Engine, settings: Settings, members: int, events: int) -> World:
    """Tenant, accounts, synced profiles and calendars; events through ``apply_page``."""
    box = SecretBox(settings.secret_keys)
    account_ids: list[str] = []
    calendar_ids: list[str] = []
    with session_scope(engine) as session:
        created = create_application(session, box, "bench-availability")
        application_id, api_key = created.application.id, created.api_key
        for member in range(members):
            account = create_account(
                session, application_id, f"member{member}@example.com", f"member{member}"
            )
            profile = create_profile(
                session, box, account, "caldav", f"member{member}", {"url": "http://unused"}
            )
            profile.sync_status = "active"
            profile.initial_sync_done = True
            profile.last_success_at = dt.datetime.now(dt.UTC)
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
    window = ExpansionWindow(ORIGIN - dt.timedelta(days=1), ORIGIN + dt.timedelta(days=120))
    all_specs = []
    for member, calendar_id in enumerate(calendar_ids):
        specs = member_events(member, events)
        all_specs.append(specs)
        for first in range(0, len(specs), 500):
            with session_scope(engine) as session:
                calendar = session.get(Calendar, calendar_id)
                assert calendar is not None
                page = [spec.remote_event() for spec in specs[first : first + 500]]
                result = apply_page(session, calendar, page, [], 1, window, "Etc/UTC")
                if result.skipped:
                    raise RuntimeError(f"apply_page skipped {result.skipped} items")
    return World(engine, settings, application_id, api_key, account_ids, calendar_ids, all_specs)


def count_occurrences(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM occurrence")).scalar() or 0)


def request_body(subs: list[str], start: dt.datetime, days: int) -> dict[str, Any]:
    return {
        "participants": [{"members": [{"sub": sub} for sub in subs], "required": "all"}],
        "required_duration": {"minutes": DURATION_MINUTES},
        "query_periods": [
            {"start": iso(start), "end": iso(start + dt.timedelta(days=days))},
        ],
    }


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# 1. In process: the route's functions against a raw SQL floor
# ---------------------------------------------------------------------------


@dataclass
class CoreStages:
    read: Timings = field(default_factory=Timings)
    build: Timings = field(default_factory=Timings)
    evaluate: Timings = field(default_factory=Timings)


def member_calendars(world: World, subs: list[str]) -> dict[str, list[str]]:
    """The members' calendar ids, looked up as the route does (tenancy checks)."""
    with session_scope(world.engine) as session:
        visible = accounts_of_application(session, world.application_id, subs)
        return calendar_ids_by_account(session, list(visible))


def core_availability(
    world: World,
    calendars: dict[str, list[str]],
    start: dt.datetime,
    end: dt.datetime,
    stages: CoreStages,
) -> list[AvailableTime]:
    """What the route does from the busy read to the engine's answer, with the route's
    functions (``calendars`` comes from :func:`member_calendars`, like the floor's ids)."""
    subs = list(calendars)
    t0 = time.perf_counter()
    with session_scope(read_only(world.engine)) as session:
        all_calendar_ids = sorted({cid for ids in calendars.values() for cid in ids})
        busy = read_busy_microseconds(session, all_calendar_ids, start, end)
        t1 = time.perf_counter()
        members = [
            Member.from_microseconds(
                sub, list(chain.from_iterable(busy.get(cid, ()) for cid in calendars[sub]))
            )
            for sub in subs
        ]
        query = AvailabilityQuery(
            query_periods=[Interval(start, end)],
            participants=[ParticipantGroup(members=members, required="all")],
            required_duration_minutes=DURATION_MINUTES,
        )
        t2 = time.perf_counter()
        found = evaluate_availability(query)
        t3 = time.perf_counter()
    stages.read.runs.append(t1 - t0)
    stages.build.runs.append(t2 - t1)
    stages.evaluate.runs.append(t3 - t2)
    return found


def previous_core_availability(
    world: World,
    calendars: dict[str, list[str]],
    start: dt.datetime,
    end: dt.datetime,
    stages: CoreStages,
) -> list[AvailableTime]:
    """The route's path before issue 3's fix (``read_spans`` → ``Interval`` per span →
    ``Member``), kept to show the before/after on the same machine and data."""
    subs = list(calendars)
    t0 = time.perf_counter()
    with session_scope(read_only(world.engine)) as session:
        all_calendar_ids = sorted({cid for ids in calendars.values() for cid in ids})
        spans = read_spans(session, all_calendar_ids, start, end, busy_only=True)
        t1 = time.perf_counter()
        busy_by_calendar: dict[str, list[Interval]] = {}
        for span in spans:
            busy_by_calendar.setdefault(span.calendar_id, []).append(Interval(span.start, span.end))
        members = [
            Member(
                sub=sub, busy=[b for cid in calendars[sub] for b in busy_by_calendar.get(cid, [])]
            )
            for sub in subs
        ]
        query = AvailabilityQuery(
            query_periods=[Interval(start, end)],
            participants=[ParticipantGroup(members=members, required="all")],
            required_duration_minutes=DURATION_MINUTES,
        )
        t2 = time.perf_counter()
        found = evaluate_availability(query)
        t3 = time.perf_counter()
    stages.read.runs.append(t1 - t0)
    stages.build.runs.append(t2 - t1)
    stages.evaluate.runs.append(t3 - t2)
    return found


def handler_availability(world: World, body: AvailabilityRequest) -> Any:
    """The route handler itself, called with a session the way FastAPI would."""
    with session_scope(read_only(world.engine)) as session:
        return availability_route(
            body,
            caller=Caller(application_id=world.application_id),
            session=session,
            settings=world.settings,
            current_time=dt.datetime.now(dt.UTC),
        )


def floor_read(
    engine: Engine, calendar_ids: list[str], start: dt.datetime, end: dt.datetime
) -> int:
    """One raw indexed SELECT of the busy rows through the DBAPI driver: nothing less can
    answer the question."""
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = FLOOR_SQL.format(ids=", ".join([marker] * len(calendar_ids)), p=marker)
    to_db = DateTime().bind_processor(engine.dialect) or (lambda value: value)
    column = UTCDateTime()
    bounds = [to_db(column.process_bind_param(value, engine.dialect)) for value in (end, start)]
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, [*calendar_ids, *bounds])
        rows = cursor.fetchall()
        cursor.close()
    finally:
        connection.close()
    return len(rows)


def bench_in_process(world: World, repeat: int, profile: bool) -> None:
    subs = world.account_ids
    start, end = QUERY_START, QUERY_START + dt.timedelta(days=QUERY_DAYS)
    body = AvailabilityRequest.model_validate(request_body(subs, start, QUERY_DAYS))
    calendars = member_calendars(world, subs)
    floor, core, handler, previous = Timings(), Timings(), Timings(), Timings()
    stages, previous_stages = CoreStages(), CoreStages()
    warm = CoreStages()
    for _ in range(2):  # warm caches (SQLAlchemy statement cache, pages, connections)
        floor_read(world.engine, world.calendar_ids, start, end)
        core_availability(world, calendars, start, end, warm)
        previous_core_availability(world, calendars, start, end, warm)
        handler_availability(world, body)
    rows = found = found_before = None
    for _ in range(repeat):
        rows = timed(floor, lambda: floor_read(world.engine, world.calendar_ids, start, end))
        found = timed(core, lambda: core_availability(world, calendars, start, end, stages))
        timed(handler, lambda: handler_availability(world, body))
        found_before = timed(
            previous,
            lambda: previous_core_availability(world, calendars, start, end, previous_stages),
        )
    assert found is not None
    if found != found_before:
        raise RuntimeError("the route path and the previous path disagree")
    print(
        f"IN-PROCESS query: {len(subs)} members, required all, {QUERY_DAYS} days, "
        f"{DURATION_MINUTES} min; {rows} busy rows read; {len(found)} available periods"
    )
    print(f"FLOOR raw indexed SELECT (driver, fetchall): {floor.ms()}")
    print(
        "CORE read_busy_microseconds + Member.from_microseconds + evaluate_availability: "
        f"{core.ms()}"
    )
    print(
        "STAGES of core (median): session + read_busy_microseconds "
        f"{stages.read.median * 1000:.2f} ms, "
        f"build Member {stages.build.median * 1000:.2f} ms, "
        f"evaluate_availability {stages.evaluate.median * 1000:.2f} ms"
    )
    print(
        "CORE read_spans + Interval/Member + evaluate_availability (previous route path): "
        f"{previous.ms()}"
    )
    print(
        "STAGES of core (median): session + read_spans "
        f"{previous_stages.read.median * 1000:.2f} ms, "
        f"build Interval/Member {previous_stages.build.median * 1000:.2f} ms, "
        f"evaluate_availability {previous_stages.evaluate.median * 1000:.2f} ms "
        "(previous route path)"
    )
    print(f"HANDLER availability() route function in process: {handler.ms()}")
    print(ratio_line("in-process core / floor", core, floor, 2.0))
    print(ratio_line("in-process handler / floor", handler, floor, 2.0))
    print(ratio_line("in-process previous route path / floor", previous, floor, 2.0))
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(
            lambda: [core_availability(world, calendars, start, end, warm) for _ in range(5)]
        )
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report).strip_dirs()
        stats.sort_stats("tottime").print_stats(18)
        print("PROFILE of 5 core runs (by own time):")
        print(report.getvalue())


# ---------------------------------------------------------------------------
# 2. Over HTTP: syncd against Radicale's free-busy-query
# ---------------------------------------------------------------------------


def radicale_busy(body: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """FREEBUSY periods of a VFREEBUSY answer (UTC ``start/end`` pairs), merged."""
    periods = []
    unfolded = body.replace("\r\n ", "").replace("\n ", "")
    for line in unfolded.splitlines():
        if line.startswith("FREEBUSY"):
            for pair in line.split(":", 1)[1].split(","):
                first, second = pair.split("/")
                periods.append((_ical_utc(first), _ical_utc(second)))
    return merge(periods)


def _ical_utc(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def merge(spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def store_busy(
    world: World, calendar_id: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    with Session(world.engine) as session:
        spans = read_spans(session, [calendar_id], start, end, busy_only=True)
    return merge([(max(s.start, start), min(s.end, end)) for s in spans])


@contextmanager
def radicale_free_busy(world: World) -> Iterator[Callable[[], str]]:
    """Radicale serving member 0's events (seeded as .ics, cache warmed); yields a function
    making one ``free-busy-query`` REPORT over the query window."""
    start, end = QUERY_START, QUERY_START + dt.timedelta(days=QUERY_DAYS)
    specs = world.specs[0]
    with tempfile.TemporaryDirectory(prefix="syncd-bench-fb-") as scratch:
        storage = Path(scratch) / "storage"
        seeded = time.perf_counter()
        seed_calendar_files(storage, "member0", "work", ((s.uid, s.ics()) for s in specs))
        with RadicaleServer(storage) as radicale, requests.Session() as http:
            url = radicale.calendar_url("member0", "work")
            http.auth = ("member0", "unused")
            query = FREE_BUSY_QUERY.format(
                start=start.strftime("%Y%m%dT%H%M%SZ"), end=end.strftime("%Y%m%dT%H%M%SZ")
            ).encode()

            def free_busy() -> str:
                response = http.request(
                    "REPORT",
                    url,
                    data=query,
                    headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
                    timeout=600,
                )
                response.raise_for_status()
                return response.text

            warm = time.perf_counter()
            http.request("PROPFIND", url, headers={"Depth": "1"}, timeout=600).raise_for_status()
            cold = time.perf_counter()
            free_busy()
            print(
                f"RADICALE seeded {len(specs)} items in {warm - seeded:.2f} s; warm-up PROPFIND "
                f"{cold - warm:.2f} s, first free-busy-query {time.perf_counter() - cold:.2f} s"
            )
            yield free_busy


def bench_radicale(
    world: World, server: ApiServer, free_busy: Callable[[], str], repeat: int, variant: str
) -> None:
    start, end = QUERY_START, QUERY_START + dt.timedelta(days=QUERY_DAYS)
    payload = request_body(world.account_ids[:1], start, QUERY_DAYS)
    with requests.Session() as api:
        api.headers["Authorization"] = f"Bearer {world.api_key}"

        def ours() -> dict[str, Any]:
            response = api.post(server.url + "/v1/availability", json=payload, timeout=60)
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer

        ours()
        theirs_t, ours_t = Timings(), Timings()
        answer_text = ""
        answer: dict[str, Any] = {}
        for _ in range(repeat):
            answer_text = timed(theirs_t, free_busy)
            answer = timed(ours_t, ours)
    theirs_busy = radicale_busy(answer_text)
    ours_busy = store_busy(world, world.calendar_ids[0], start, end)
    if theirs_busy != ours_busy:
        raise RuntimeError(
            f"Radicale and syncd disagree on member 0's busy time: "
            f"{len(theirs_busy)} vs {len(ours_busy)} merged periods"
        )
    print(
        f"CHECK same busy time: Radicale FREEBUSY == syncd occurrences "
        f"({len(ours_busy)} merged busy periods in {QUERY_DAYS} days); syncd answered "
        f"{len(answer['available_periods'])} available periods"
    )
    print(f"RADICALE free-busy-query REPORT (warm, 1 calendar, {QUERY_DAYS} days): {theirs_t.ms()}")
    print(f"SYNCD POST /v1/availability (1 member, {QUERY_DAYS} days) [{variant}]: {ours_t.ms()}")
    print(ratio_line(f"syncd availability / Radicale free-busy [{variant}]", ours_t, theirs_t, 0.1))


# ---------------------------------------------------------------------------
# The server as shipped, and with the fix this benchmark suggests
# ---------------------------------------------------------------------------

SHIPPED = "as shipped"
NODELAY = "with TCP_NODELAY"
VARIANTS = (SHIPPED, NODELAY)


def apply_suggested_nodelay(server: ApiServer) -> None:
    """Set TCP_NODELAY on the listening socket (accepted sockets inherit it on Linux).

    ``ApiServer.start`` creates its socket with protocol 0, and asyncio only sets
    TCP_NODELAY on accepted sockets whose ``proto`` is ``IPPROTO_TCP``; so as shipped,
    Nagle holds back the body that uvicorn (h11) writes after the headers until the
    client's delayed ACK arrives: about 40 ms added to every response. The fix in
    ``ApiServer.start`` is ``socket.socket(family, socket.SOCK_STREAM,
    socket.IPPROTO_TCP)`` (or this same setsockopt).
    """
    listening = server._socket  # noqa: SLF001 - the benchmark demonstrates a fix
    assert listening is not None
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# ---------------------------------------------------------------------------
# 3. Under load
# ---------------------------------------------------------------------------


@dataclass
class LoadResult:
    concurrency: int
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    tool: str

    def line(self, variant: str) -> str:
        return (
            f"LOAD [{variant}] concurrency {self.concurrency:>3}: "
            f"{self.requests / self.seconds:7.1f} req/s, "
            f"p50 {self.p50_ms:7.1f} ms, p99 {self.p99_ms:7.1f} ms "
            f"({self.requests} requests in {self.seconds:.1f} s, {self.errors} errors; {self.tool})"
        )


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def _wrk_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, body: str, key: str, concurrency: int, seconds: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(body), key=key))
    try:
        completed = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "--timeout",
                f"{max(1, round(seconds / 2))}s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
    finally:
        Path(script.name).unlink()
    out = completed.stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    assert done is not None, out
    elapsed = _wrk_ms(done.group(2) + done.group(3)) / 1000
    percentiles = dict(re.findall(r"^\s*(\d+)%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.MULTILINE))
    if "50" not in percentiles or "99" not in percentiles:
        raise RuntimeError(f"unexpected wrk output:\n{out}\n{completed.stderr}")
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return LoadResult(
        concurrency,
        int(done.group(1)),
        elapsed,
        errors,
        _wrk_ms(percentiles["50"]),
        _wrk_ms(percentiles["99"]),
        "wrk -t1",
    )


def run_python_load(
    url: str, body: str, key: str, concurrency: int, seconds: float, max_requests: int
) -> LoadResult:
    """The fallback generator, in its own process so it does not share the server's GIL."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.availability",
            "_load",
            url,
            key,
            str(concurrency),
            str(seconds),
            str(max_requests),
        ],
        input=body,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        timeout=seconds + 120,
    )
    data = json.loads(completed.stdout)
    return LoadResult(concurrency, tool="python threads, keep-alive", **data)


def _load_generator(argv: list[str]) -> None:
    """``_load URL KEY CONCURRENCY SECONDS MAX_REQUESTS`` (body on stdin); prints JSON."""

    url, key, concurrency, seconds, max_requests = argv
    body = sys.stdin.read().encode()
    parts = urlsplit(url)
    deadline = time.perf_counter() + float(seconds)
    budget = iter(range(int(max_requests)))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            started = time.perf_counter()
            try:
                connection.request("POST", parts.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors[0] += 0 if ok else 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(int(concurrency))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "seconds": elapsed,
                "errors": errors[0],
                "p50_ms": percentile(0.50),
                "p99_ms": percentile(0.99),
            }
        )
    )


def bench_load(
    world: World,
    server: ApiServer,
    levels: list[int],
    seconds: float,
    use_wrk: bool,
    variant: str,
) -> None:
    subs = world.account_ids[:3]
    payload = request_body(subs, QUERY_START, LOAD_QUERY_DAYS)
    body = json.dumps(payload)
    url = server.url + "/v1/availability"
    headers = {"Authorization": f"Bearer {world.api_key}", "Content-Type": "application/json"}
    check = requests.post(url, data=body, headers=headers, timeout=60)
    if check.status_code != 200:
        raise RuntimeError(f"load query answered {check.status_code}: {check.text}")
    periods = len(check.json()["available_periods"])
    single = Timings()
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {world.api_key}"
        http.headers["Content-Type"] = "application/json"
        for _ in range(20):
            timed(single, lambda: http.post(url, data=body, timeout=60).raise_for_status())
    print(
        f"LOAD query: {len(subs)} members, required all, {LOAD_QUERY_DAYS} days, "
        f"{DURATION_MINUTES} min ({periods} available periods) [{variant}]; one client, "
        "sequential: "
        f"{single.ms()}"
    )
    for concurrency in levels:
        if use_wrk:
            result = run_wrk(url, body, world.api_key, concurrency, seconds)
        else:
            result = run_python_load(
                url, body, world.api_key, concurrency, seconds, max_requests=100_000
            )
        print(result.line(variant))
        drain = time.perf_counter()
        # Let requests still queued in the server finish before the next level starts.
        requests.post(url, data=body, headers=headers, timeout=300).raise_for_status()
        if time.perf_counter() - drain > 1:
            print(f"LOAD [{variant}] server backlog drained in {time.perf_counter() - drain:.1f} s")


# ---------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A fresh SQLite file, or a private schema on the given Postgres (dropped after)."""
    if url is None or is_sqlite(url):
        with tempfile.TemporaryDirectory(prefix="syncd-bench-avail-") as folder:
            yield url or f"sqlite:///{Path(folder) / 'syncd.db'}"
        return
    schema = f"bench_avail_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_load"]:
        _load_generator(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--members", type=int, default=None, help="default 10 (smoke 3)")
    parser.add_argument("--events", type=int, default=None, help="per member; 5000 (smoke 200)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure; 15 (smoke 3)")
    parser.add_argument("--load-seconds", type=float, default=None, help="per level; 10 (smoke 1)")
    parser.add_argument(
        "--concurrency", default=None, help="load levels, comma-separated; 1,4,16,64 (smoke 1,4)"
    )
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process core")
    parser.add_argument(
        "--in-process-only",
        action="store_true",
        help="only section 1 (no Radicale, no load): quick re-measurement of the core",
    )
    options = parser.parse_args(argv)
    smoke = options.smoke
    members = options.members or (3 if smoke else 10)
    events = options.events or (200 if smoke else 5000)
    repeat = options.repeat or (3 if smoke else 15)
    load_seconds = options.load_seconds or (1.0 if smoke else 10.0)
    levels = [int(c) for c in (options.concurrency or ("1,4" if smoke else "1,4,16,64")).split(",")]
    use_wrk = not options.python_load and shutil.which("wrk") is not None

    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform(terse=True)}"
    )
    with database(options.database_url) as url:
        backend = "sqlite" if is_sqlite(url) else "postgres"
        settings = load_settings(
            database_url=url, secret_keys=[generate_key()], log_level="WARNING"
        )
        engine = make_engine(url)
        try:
            upgrade_schema(engine)
            started = time.perf_counter()
            world = build_world(engine, settings, members, events)
            print(
                f"DATA {backend}: {members} members x {events} events over {DATA_DAYS} days "
                f"({count_occurrences(engine)} occurrence rows) stored through apply_page in "
                f"{time.perf_counter() - started:.1f} s"
            )
            if backend == "postgres":
                with engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            bench_in_process(world, repeat, options.profile)
            if options.in_process_only:
                return
            with radicale_free_busy(world) as free_busy:
                for variant in VARIANTS:
                    server = ApiServer(settings, engine, host="127.0.0.1", port=0)
                    server.start()
                    try:
                        if variant == NODELAY:
                            apply_suggested_nodelay(server)
                        bench_radicale(world, server, free_busy, repeat, variant)
                        bench_load(world, server, levels, load_seconds, use_wrk, variant)
                    finally:
                        server.stop()
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
