"""The daemon side: an APScheduler job that hands due managed events to a worker pool.

It runs on executors of its own, so slow provider writes never delay profile syncs or
webhook delivery. An upsert's commit wakes it (``syncd.store.wakeups.MANAGED``); the
``DISPATCH_SECONDS`` tick stays for retries coming due and for an API in another process
on SQLite. Several daemons can run it at once on Postgres: rows are leased with
``SKIP LOCKED`` (``syncd.store.managed.claim_due_managed_events``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor as Pool

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine

from syncd.conferencing.context import Job
from syncd.conferencing.group_commit import MAX_BATCH
from syncd.conferencing.worker import ManagedEventWorker
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.managed import release_managed_leases
from syncd.store.wakeups import MANAGED, listen

log = logging.getLogger(__name__)

#: Seconds between looks for due managed events (the latency floor from 202 to write).
DISPATCH_SECONDS = 0.2
#: Threads beyond the pool's slots for rows that only wait for their finishing commit
#: (they give their slot back to the next row's write; ``Job.release_dispatch_slot``).
FINISHING_THREADS = MAX_BATCH


class ManagedEventJob:
    """Claims due rows for idle pool slots every ``DISPATCH_SECONDS``.

    ``size`` rows are written at once; a row whose event is written and that only waits
    for its (group) commit gives its slot to the next row, up to ``finishing_threads``
    such rows, so a slow commit does not stall the writes behind it."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        box: SecretBox,
        worker_id: str,
        stop_event: threading.Event,
    ) -> None:
        self.worker = ManagedEventWorker(engine, settings, box, worker_id=f"{worker_id}:events")
        self.engine = engine
        self.stop_event = stop_event
        self.size = max(2, settings.workers * 2)
        self.finishing_threads = FINISHING_THREADS
        self._pool = Pool(self.size + self.finishing_threads, thread_name_prefix="managed-events")
        self._in_flight = 0
        self._finishing = 0
        self._lock = threading.Lock()
        self._dispatch_lock = threading.Lock()
        self._dispatch_again = False
        self._woken = threading.Event()
        self._waker: threading.Thread | None = None

    def install(self, scheduler: BaseScheduler) -> None:
        scheduler.add_executor(ThreadPoolExecutor(1), alias="managed_events")
        scheduler.add_job(
            self.dispatch,
            "interval",
            seconds=DISPATCH_SECONDS,
            id="managed_events",
            executor="managed_events",
        )
        self.listen()

    def listen(self) -> None:
        """Dispatch as soon as an upsert commits (``MANAGED``: in this process, and from
        any process through Postgres ``NOTIFY``) instead of at the next tick."""
        self._woken = MANAGED.subscribe()
        listen(self.engine, MANAGED, self.stop_event)
        self._waker = threading.Thread(target=self._wake_loop, name="managed-wake", daemon=True)
        self._waker.start()

    def _wake_loop(self) -> None:
        try:
            while not self.stop_event.is_set():
                if self._woken.wait(DISPATCH_SECONDS) and not self.stop_event.is_set():
                    self._woken.clear()
                    self.dispatch()
        finally:
            MANAGED.unsubscribe(self._woken)

    def dispatch(self) -> int:
        """Lease due rows for the idle slots and start them; returns how many.

        Runs every ``DISPATCH_SECONDS`` and again whenever a row finishes (from the thread
        that finished it), so a burst keeps every slot busy instead of refilling them a
        tick at a time. Concurrent calls collapse into one more pass of the one running:
        a caller raises the flag *before* trying the lock, and the holder looks at the
        flag again *after* releasing it, so no call is lost between the two.
        """
        started = 0
        self._dispatch_again = True
        while self._dispatch_again:
            if not self._dispatch_lock.acquire(blocking=False):
                return started  # the holder sees the flag once it lets go
            try:
                while self._dispatch_again:
                    self._dispatch_again = False
                    started += self._dispatch_once()
            finally:
                self._dispatch_lock.release()
        return started

    def _dispatch_once(self) -> int:
        if self.stop_event.is_set():
            return 0
        with self._lock:
            idle = self.size - self._in_flight
        if idle <= 0:
            return 0
        try:
            jobs = self.worker.claim_jobs(idle)
        except Exception:
            log.exception("could not claim due managed events")
            return 0
        for job in jobs:
            with self._lock:
                self._in_flight += 1
            try:
                self._pool.submit(self._run, job)
            except RuntimeError:  # the pool shut down meanwhile: stop() releases the lease
                with self._lock:
                    self._in_flight -= 1
        return len(jobs)

    def _run(self, job: Job) -> None:
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released or self._finishing >= self.finishing_threads:
                    return
                released = True
                self._in_flight -= 1
                self._finishing += 1
            self._refill()

        job.release_dispatch_slot = release
        try:
            self.worker.process_job(job)
        finally:
            with self._lock:
                if released:
                    self._finishing -= 1
                else:
                    self._in_flight -= 1
        self.dispatch()

    def _refill(self) -> None:
        """Fill a slot given back early: on the wake thread, so the row giving it back
        goes on to its commit at once; by this thread when there is none."""
        if self._waker is not None:
            self._woken.set()
        else:
            self.dispatch()

    def stop(self) -> None:
        """Let rows in progress finish their current step, then give back every lease."""
        if self._waker is not None:
            self._woken.set()
            self._waker.join()
        self._pool.shutdown(wait=True)
        release_managed_leases(self.engine, self.worker.worker_id)


def install_managed_event_job(
    scheduler: BaseScheduler,
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    worker_id: str,
    stop_event: threading.Event,
) -> ManagedEventJob:
    job = ManagedEventJob(engine, settings, box, worker_id, stop_event)
    job.install(scheduler)
    return job
