"""The long-running sync daemon: APScheduler dispatches due profiles to a bounded pool.

A dispatch job runs every second, leases as many due profiles as there are idle workers
and hands each to the pool. Stopping sets a flag that runs check between pages, so the
page in flight is committed (or rolled back whole) and leases are released.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import IO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from syncd import metrics
from syncd.conferencing.dispatch import ManagedEventJob
from syncd.config import Settings
from syncd.errors import ServiceUnavailableError
from syncd.ids import new_id
from syncd.notify.channels import install_sync_hooks
from syncd.notify.deliverer import DeliveryLoop
from syncd.registry import load_adapters
from syncd.store import tombstones
from syncd.store.crypto import SecretBox
from syncd.store.db import is_sqlite, session_scope
from syncd.store.heartbeats import record_heartbeat, remove_heartbeat
from syncd.store.models import utcnow
from syncd.sync.leases import claim_due_profiles, release_leases, renew_leases
from syncd.sync.push import PushMaintenance
from syncd.sync.run import SyncContext, SyncOutcome, sync_profile

log = logging.getLogger(__name__)

DISPATCH_SECONDS = 1.0
#: Seconds between two passes that forget tombstones past their retention.
PRUNE_SECONDS = 3600.0
#: The scheduler counts as stalled (the systemd watchdog is no longer fed) when its
#: dispatch job has not run for this long.
STALL_SECONDS = 30.0
#: Settings that only a restart changes; a reload (SIGHUP) keeps the running values.
RESTART_ONLY = ("database_url", "workers", "api_host", "api_port", "lease_seconds")


class SQLiteOwnerLock:
    """An exclusive lock beside a SQLite file: one daemon per embedded database."""

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database
        self.path = Path(f"{database}.lock") if database and database != ":memory:" else None
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ServiceUnavailableError(
                f"another syncd daemon is already running on {self.path.with_suffix('')}; "
                "SQLite supports one daemon per database (use Postgres to run several)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class SyncDaemon:
    """Owns the scheduler, the worker pool and the leases of one daemon process."""

    def __init__(self, engine: Engine, settings: Settings, box: SecretBox) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{new_id('d', 4)}"
        self.context = SyncContext(engine, settings, box, worker_id=self.worker_id)
        install_sync_hooks(self.context)
        self.lease_seconds = settings.lease_seconds
        self.context.lease_seconds = self.lease_seconds
        if self.lease_seconds < settings.http_timeout * 2:
            log.warning(
                "lease_seconds (%s) is shorter than two provider requests (http_timeout %s): "
                "a slow run may lose its profile to another daemon",
                self.lease_seconds,
                settings.http_timeout,
            )
        self._last_dispatch = time.monotonic()
        self._lock = (
            SQLiteOwnerLock(settings.database_url) if is_sqlite(settings.database_url) else None
        )
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()
        self._dispatch_lock = threading.Lock()
        self._dispatch_again = False
        self._started_at = utcnow()
        self._scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(settings.workers),
                "dispatch": ThreadPoolExecutor(1),
                "leases": ThreadPoolExecutor(1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self.completed: list[SyncOutcome] = []
        #: Writes managed events (and their conferencing) on executors of its own.
        self.managed_events = ManagedEventJob(
            engine, settings, box, self.worker_id, self.context.stop_event
        )
        self.finished_runs = 0
        self.failed_runs = 0
        #: Keeps provider push channels (Google watch, Graph subscriptions) alive.
        self.push = PushMaintenance(self.context)
        #: Sends webhooks as soon as their rows commit, on a thread of its own so slow
        #: receivers never delay syncs.
        self.delivery = DeliveryLoop(
            engine,
            lambda: self.context.settings,
            lambda: self.context.box,
            self.worker_id,
            self.stop_event,
        )

    @property
    def stop_event(self) -> threading.Event:
        return self.context.stop_event

    def start(self) -> None:
        if self._lock is not None:
            self._lock.acquire()
        load_adapters()
        self._scheduler.add_job(
            self.dispatch, "interval", seconds=DISPATCH_SECONDS, id="dispatch", executor="dispatch"
        )
        self._scheduler.add_job(
            self.renew_leases,
            "interval",
            seconds=max(0.5, self.lease_seconds / 3),
            id="renew-leases",
            executor="leases",
        )
        self._scheduler.add_job(
            self.prune_tombstones,
            "interval",
            seconds=PRUNE_SECONDS,
            id="prune-tombstones",
            executor="leases",
            next_run_time=dt.datetime.now(dt.UTC),
        )
        self.managed_events.install(self._scheduler)
        self.push.install(self._scheduler)
        self._started_at = utcnow()
        record_heartbeat(self.engine, self.worker_id, self._started_at)
        self._scheduler.start()
        self.delivery.start()
        log.info("sync daemon %s started with %d workers", self.worker_id, self.settings.workers)

    def dispatch(self) -> int:
        """Lease due profiles for idle workers and queue their syncs; returns how many.

        Runs every second and again whenever a sync finishes (from the worker that
        finished), so a busy daemon never waits for the next tick to refill a free worker.
        Concurrent calls collapse into one more pass of the call already running.
        """
        if not self._dispatch_lock.acquire(blocking=False):
            self._dispatch_again = True
            return 0
        try:
            queued = 0
            while True:
                self._dispatch_again = False
                queued += self._dispatch_once()
                if not self._dispatch_again:
                    return queued
        finally:
            self._dispatch_lock.release()

    def _dispatch_once(self) -> int:
        self._last_dispatch = time.monotonic()
        if self.stop_event.is_set():
            return 0
        with metrics.DISPATCH_DURATION.time():
            with self._in_flight_lock:
                idle = self.settings.workers - len(self._in_flight)
            try:
                profile_ids = claim_due_profiles(
                    self.engine, self.worker_id, idle, self.lease_seconds
                )
            except Exception:
                log.exception("could not claim due profiles")
                return 0
            for profile_id in profile_ids:
                with self._in_flight_lock:
                    self._in_flight.add(profile_id)
                    metrics.SYNCS_IN_FLIGHT.set(len(self._in_flight))
                self._scheduler.add_job(self._run_one, args=[profile_id], id=f"sync:{profile_id}")
        metrics.PROFILES_CLAIMED.inc(len(profile_ids))
        return len(profile_ids)

    def _run_one(self, profile_id: str) -> None:
        if self.stop_event.is_set():  # queued before the stop: leave it to release_leases
            with self._in_flight_lock:
                self._in_flight.discard(profile_id)
            return
        try:
            outcome = sync_profile(self.context, profile_id)
            self.completed.append(outcome)
            del self.completed[:-1000]
            self.finished_runs += 1
            if outcome.outcome not in ("ok", "skipped", "stopped"):
                self.failed_runs += 1
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(profile_id)
                metrics.SYNCS_IN_FLIGHT.set(len(self._in_flight))
        self.dispatch()

    def prune_tombstones(self) -> int:
        """Forget deleted events older than ``deleted_event_retention_days``."""
        retention = dt.timedelta(days=self.context.settings.deleted_event_retention_days)
        try:
            with session_scope(self.engine) as session:
                pruned = tombstones.prune(session, retention)
        except Exception:
            log.exception("pruning tombstones failed; trying again in %s s", PRUNE_SECONDS)
            return 0
        if pruned:
            log.info("pruned %d tombstones older than %s", pruned, retention)
        return pruned

    def renew_leases(self) -> int:
        """Heartbeat: push back the expiry of every lease this live daemon holds, so a run
        slower than ``lease_seconds`` between two pages is never taken over; only a dead
        or frozen daemon stops renewing."""
        try:
            record_heartbeat(self.engine, self.worker_id, self._started_at)
            return renew_leases(self.engine, self.worker_id, self.lease_seconds)
        except Exception:
            log.exception("could not renew leases")
            return 0

    def healthy(self) -> bool:
        """The dispatch job ran recently (for the systemd watchdog)."""
        return time.monotonic() - self._last_dispatch < STALL_SECONDS

    def status_line(self) -> str:
        """One line for systemd's STATUS (shown by ``systemctl status``)."""
        with self._in_flight_lock:
            running = len(self._in_flight)
        state = "stopping" if self.stop_event.is_set() else "running"
        return (
            f"{state}: {running} syncs in flight, {self.finished_runs} finished "
            f"({self.failed_runs} failed) since start; worker {self.worker_id}"
        )

    def reload(self, settings: Settings, box: SecretBox | None = None) -> list[str]:
        """Apply new settings to future runs; returns the restart-only keys that changed
        (their running values are kept)."""
        ignored = [
            key for key in RESTART_ONLY if getattr(settings, key) != getattr(self.settings, key)
        ]
        live = settings.model_copy(update={key: getattr(self.settings, key) for key in ignored})
        self.settings = live
        self.context.settings = live
        if box is not None:
            self.context.box = box
        self.lease_seconds = live.lease_seconds
        self.context.lease_seconds = live.lease_seconds
        for key in ignored:
            log.warning("%s changed in the configuration: it takes effect after a restart", key)
        return ignored

    def stop(self) -> None:
        """Stop taking work, let runs stop at a page boundary, release leases."""
        log.info("sync daemon %s stopping", self.worker_id)
        self.stop_event.set()
        # Held while the pool drains: a worker that finishes meanwhile must not queue work
        # (APScheduler's shutdown holds its job store lock while it waits for the threads).
        with self._dispatch_lock:
            self._scheduler.shutdown(wait=True)
        self.managed_events.stop()
        self.delivery.stop()
        release_leases(self.engine, self.worker_id)
        remove_heartbeat(self.engine, self.worker_id)
        if self._lock is not None:
            self._lock.release()
        log.info("sync daemon %s stopped", self.worker_id)
