"""Prometheus metrics: what the sync engine counts as it works, and fleet gauges read from
the database at scrape time.

Two kinds of figures, kept apart on purpose:

- *Process* instruments (:data:`REGISTRY`): counters and histograms updated by this
  process as it syncs (syncs by provider and outcome, sync duration, provider operations
  and errors, lease takeovers, dispatch time). Each daemon reports its own; Prometheus
  sums them across the fleet.
- *Fleet* gauges (:class:`FleetCollector`): profiles by ``sync_status``, due profiles and
  queue backlogs, computed by a few aggregate queries when ``/metrics`` is scraped. They
  describe the shared database, so every daemon reports the same values (use ``max`` not
  ``sum`` across instances). Nothing runs in the background that could fall behind.

Queues other modules own (the webhook outbox, conferencing jobs) are read through
:func:`register_backlog_source`, so a new queue adds one function rather than editing here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, and_, func, inspect, or_, select
from sqlmodel import col

from providers.base import ProviderError
from syncd.statuses import ManagedEventState, SyncStatus
from syncd.store.models import ManagedEvent, OutboxMessage, Profile, utcnow

log = logging.getLogger(__name__)

__all__ = ["CONTENT_TYPE_LATEST", "REGISTRY", "FleetCollector", "render"]

#: Instruments of this process (not the global default registry, so tests and embedded
#: uses can render exactly syncd's metrics).
REGISTRY = CollectorRegistry(auto_describe=True)

SYNCS = Counter(
    "syncd_syncs",
    "Profile sync runs finished by this process, by provider and outcome.",
    ["provider", "outcome"],
    registry=REGISTRY,
)
SYNC_DURATION = Histogram(
    "syncd_sync_duration_seconds",
    "Wall time of one profile sync run, by provider.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
PROVIDER_REQUESTS = Counter(
    "syncd_provider_requests",
    "Provider operations (calendar list, one page of changes, writes), by provider and operation.",
    ["provider", "operation"],
    registry=REGISTRY,
)
PROVIDER_ERRORS = Counter(
    "syncd_provider_errors",
    "Provider operations that failed, by provider and error kind (AuthRevoked, "
    "RateLimited, TransientError, CursorExpired, ...).",
    ["provider", "kind"],
    registry=REGISTRY,
)
LEASE_TAKEOVERS = Counter(
    "syncd_lease_takeovers",
    "Profiles claimed whose previous lease had expired in another worker's hands "
    "(a daemon died or stalled).",
    registry=REGISTRY,
)
PROFILES_CLAIMED = Counter(
    "syncd_profiles_claimed", "Due profiles leased by this process.", registry=REGISTRY
)
DISPATCH_DURATION = Histogram(
    "syncd_dispatch_duration_seconds",
    "Time of one scheduler dispatch (the claim query and queueing), whether or not it "
    "found due profiles.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
SYNCS_IN_FLIGHT = Gauge(
    "syncd_syncs_in_flight", "Profile syncs running in this process now.", registry=REGISTRY
)
CONFIG_RELOADS = Counter(
    "syncd_config_reloads", "Configuration reloads (SIGHUP), by result.", ["result"],
    registry=REGISTRY,
)  # fmt: skip


# --------------------------------------------------------------------------- provider calls


class InstrumentedProvider:
    """Wraps a calendar adapter: counts each operation and each failure by error kind.

    A page of ``sync_events`` counts as one request (adapters fetch one page per round
    trip); token refreshes happen inside the adapter and are not seen separately.
    """

    _COUNTED = ("list_calendars", "upsert_event", "delete_event", "create_integrated_conference")

    def __init__(self, provider: Any, provider_name: str) -> None:
        self._provider = provider
        self._name = provider_name

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._provider, name)
        if name in self._COUNTED and callable(attribute):
            return self._counted(name, attribute)
        return attribute

    def _counted(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            PROVIDER_REQUESTS.labels(self._name, operation).inc()
            try:
                return call(*args, **kwargs)
            except ProviderError as error:
                PROVIDER_ERRORS.labels(self._name, type(error).__name__).inc()
                raise

        return counted

    def sync_events(self, calendar: Any, cursor: str | None) -> Iterator[Any]:
        pages = iter(self._provider.sync_events(calendar, cursor))
        while True:
            PROVIDER_REQUESTS.labels(self._name, "sync_page").inc()
            try:
                page = next(pages)
            except StopIteration:
                return
            except ProviderError as error:
                PROVIDER_ERRORS.labels(self._name, type(error).__name__).inc()
                raise
            yield page


def record_sync(provider: str, outcome: str, seconds: float) -> None:
    """Count one finished run (called by ``sync_profile``)."""
    SYNCS.labels(provider, outcome).inc()
    SYNC_DURATION.labels(provider).observe(seconds)


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True)
class Backlog:
    """Items waiting in one queue, and when the oldest of them was created."""

    pending: int
    oldest_pending_at: dt.datetime | None


#: Reads one queue's backlog; returns None when the queue does not exist in this schema.
BacklogSource = Callable[[Connection], Backlog | None]

_BACKLOG_SOURCES: dict[str, BacklogSource] = {}


def register_backlog_source(queue: str, source: BacklogSource) -> None:
    """Report ``queue``'s backlog as ``syncd_outbox_backlog{queue=…}`` (replaces a previous
    source of the same name)."""
    _BACKLOG_SOURCES[queue] = source


def _table_exists(connection: Connection, table: str) -> bool:
    return inspect(connection).has_table(table)


def _outbox_backlog(connection: Connection) -> Backlog | None:
    if not _table_exists(connection, OutboxMessage.__tablename__):  # type: ignore[arg-type]
        return None
    row = connection.execute(
        select(func.count(), func.min(col(OutboxMessage.created_at))).where(
            col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.abandoned_at).is_(None)
        )
    ).one()
    return Backlog(int(row[0]), row[1])


def _managed_event_backlog(*clauses: Any) -> BacklogSource:
    def read(connection: Connection) -> Backlog | None:
        if not _table_exists(connection, ManagedEvent.__tablename__):  # type: ignore[arg-type]
            return None
        row = connection.execute(
            select(func.count(), func.min(col(ManagedEvent.created_at))).where(*clauses)
        ).one()
        return Backlog(int(row[0]), row[1])

    return read


register_backlog_source("webhooks", _outbox_backlog)
register_backlog_source(
    "event_writes",
    _managed_event_backlog(
        col(ManagedEvent.state).in_(
            [ManagedEventState.PENDING_WRITE, ManagedEventState.PENDING_DELETE]
        )
    ),
)
register_backlog_source(
    "conferencing",
    _managed_event_backlog(col(ManagedEvent.conferencing_state).in_(["pending", "failing"])),
)


# --------------------------------------------------------------------------- fleet gauges


@dataclass(frozen=True)
class FleetCounts:
    """Profiles by effective ``sync_status`` plus scheduling figures (also for ``syncd
    status``)."""

    by_status: dict[str, int]
    due: int
    leased: int


def fleet_counts(connection: Connection, staleness_bound: float) -> FleetCounts:
    """Profiles by the status callers see: an ``active`` profile whose last success is
    older than ``staleness_bound`` counts as ``pending`` (as ``effective_status`` does)."""
    now = utcnow()
    stale_before = now - dt.timedelta(seconds=staleness_bound)
    by_status: dict[str, int] = {
        SyncStatus.PENDING: 0,
        SyncStatus.ACTIVE: 0,
        SyncStatus.DISCONNECTED: 0,
    }
    stale = and_(
        col(Profile.sync_status) == SyncStatus.ACTIVE,
        col(Profile.last_success_at).is_not(None),
        col(Profile.last_success_at) < stale_before,
    )
    rows = connection.execute(
        select(col(Profile.sync_status), stale.label("stale"), func.count()).group_by(
            col(Profile.sync_status), stale
        )
    )
    for stored, is_stale, count in rows:
        shown = SyncStatus.PENDING if is_stale else stored
        by_status[shown] = by_status.get(shown, 0) + int(count)
    due = connection.execute(
        select(func.count()).where(
            col(Profile.next_due_at) <= now,
            col(Profile.sync_status) != SyncStatus.DISCONNECTED,
            or_(col(Profile.lease_expires_at).is_(None), col(Profile.lease_expires_at) < now),
        )
    ).scalar_one()
    leased = connection.execute(
        select(func.count()).where(col(Profile.lease_expires_at) >= now)
    ).scalar_one()
    return FleetCounts(by_status, int(due), int(leased))


def backlogs(connection: Connection) -> dict[str, Backlog]:
    """Every registered queue that exists in this database."""
    found = {}
    for queue, source in sorted(_BACKLOG_SOURCES.items()):
        backlog = source(connection)
        if backlog is not None:
            found[queue] = backlog
    return found


class FleetCollector(Collector):
    """Gauges about the shared database, queried when scraped."""

    def __init__(self, engine: Engine, staleness_bound: Callable[[], float]) -> None:
        self.engine = engine
        self.staleness_bound = staleness_bound

    def describe(self) -> Iterable[Metric]:
        return []  # computed on scrape; do not query while registering

    def collect(self) -> Iterable[Metric]:
        profiles = GaugeMetricFamily(
            "syncd_profiles", "Profiles by effective sync_status.", labels=["sync_status"]
        )
        due = GaugeMetricFamily("syncd_profiles_due", "Profiles due for sync and not leased.")
        leased = GaugeMetricFamily("syncd_profiles_leased", "Profiles leased by some daemon now.")
        backlog = GaugeMetricFamily(
            "syncd_outbox_backlog", "Items waiting in a work queue.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "syncd_outbox_oldest_pending_age_seconds",
            "Age of the oldest item waiting in a work queue (0 when empty).",
            labels=["queue"],
        )
        up = GaugeMetricFamily("syncd_database_up", "1 when the fleet queries succeeded.")
        try:
            with self.engine.connect() as connection:
                counts = fleet_counts(connection, self.staleness_bound())
                queues = backlogs(connection)
        except Exception:
            log.exception("could not read fleet metrics from the database")
            up.add_metric([], 0)
            return [up]
        now = utcnow()
        for name, count in sorted(counts.by_status.items()):
            profiles.add_metric([name], count)
        due.add_metric([], counts.due)
        leased.add_metric([], counts.leased)
        for queue, item in queues.items():
            backlog.add_metric([queue], item.pending)
            age = (now - item.oldest_pending_at).total_seconds() if item.oldest_pending_at else 0
            oldest.add_metric([queue], max(0.0, age))
        up.add_metric([], 1)
        return [profiles, due, leased, backlog, oldest, up]


def render(*registries: CollectorRegistry) -> bytes:
    """The text exposition of :data:`REGISTRY` followed by ``registries``."""
    return b"".join(generate_latest(registry) for registry in (REGISTRY, *registries))
