"""Managed-event writes are bounded per calendar and per provider: a busy calendar holds
only its share, other calendars go on, and a job that waits too long gets nothing; a
finished row refills its slot at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine

from syncd.conferencing.dispatch import ManagedEventJob
from syncd.conferencing.limits import WriteLimits
from syncd.config import Settings
from syncd.store.crypto import SecretBox


def run_jobs(limits: WriteLimits, jobs: list[tuple[str, str]]) -> Counter[str]:
    """Each job holds its slots for a moment; returns the most held at once per key."""
    most: Counter[str] = Counter()
    current: Counter[str] = Counter()
    lock = threading.Lock()

    def job(calendar: str, provider: str) -> None:
        with limits.hold(calendar, provider, wait=10) as held:
            assert held
            with lock:
                current[calendar] += 1
                current[provider] += 1
                for key in (calendar, provider):
                    most[key] = max(most[key], current[key])
            time.sleep(0.05)
            with lock:
                current[calendar] -= 1
                current[provider] -= 1

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda pair: job(*pair), jobs))
    return most


def test_at_most_n_writes_at_once_to_one_calendar_and_others_go_on() -> None:
    limits = WriteLimits(per_calendar=2, per_provider=10)
    most = run_jobs(limits, [("cal_a", "google")] * 8 + [("cal_b", "google")] * 4)
    assert most["cal_a"] == 2
    assert most["cal_b"] == 2
    assert most["google"] == 4  # both calendars at once


def test_at_most_n_writes_at_once_to_one_provider() -> None:
    limits = WriteLimits(per_calendar=10, per_provider=3)
    jobs = [(f"cal_{n}", "caldav") for n in range(9)] + [("cal_g", "google")] * 2
    most = run_jobs(limits, jobs)
    assert most["caldav"] == 3
    assert most["google"] == 2


def test_a_job_that_waits_too_long_holds_nothing() -> None:
    limits = WriteLimits(per_calendar=1, per_provider=5)
    with limits.hold("cal_a", "google", wait=1) as first:
        assert first
        began = time.monotonic()
        with limits.hold("cal_a", "google", wait=0.1) as second:
            assert not second
        assert time.monotonic() - began < 1
        assert limits.held("cal_a") == 1
    assert limits.held("cal_a") == 0


@dataclass
class RowJob:
    """A job as the dispatcher sees it: a row, and the hook giving its slot back early."""

    row_id: int
    release_dispatch_slot: Callable[[], None] = lambda: None


class QueueWorker:
    """Stands in for ManagedEventWorker: rows come from a list, processing is recorded."""

    def __init__(self, rows: int) -> None:
        self.due = list(range(rows))
        self.done: list[int] = []
        self.worker_id = "w:events"
        self._lock = threading.Lock()

    def claim_jobs(self, limit: int) -> list[RowJob]:
        with self._lock:
            taken, self.due = self.due[:limit], self.due[limit:]
            return [RowJob(row) for row in taken]

    def process_job(self, job: RowJob) -> None:
        time.sleep(0.01)
        with self._lock:
            self.done.append(job.row_id)


def test_a_finished_row_starts_the_next_without_waiting_for_the_dispatch_tick(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    job = ManagedEventJob(engine, settings, box, "w", threading.Event())
    worker = QueueWorker(rows=40)
    job.worker = worker  # type: ignore[assignment]
    try:
        # One dispatch, no scheduler: only finishing rows can claim the rest. Rows that
        # finish while this call still holds the dispatch lock fold their refill into
        # it, so it may start more than one pool's worth, never fewer.
        assert job.dispatch() >= job.size
        deadline = time.monotonic() + 10
        while len(worker.done) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(worker.done) == list(range(40))
    finally:
        job.stop_event.set()
        job._pool.shutdown(wait=True)


def test_slots_given_back_early_are_free_at_once_and_not_given_back_twice() -> None:
    limits = WriteLimits(per_calendar=1, per_provider=4)
    with limits.hold("cal_a", "google", wait=0) as held:
        held.release()
        assert limits.held("cal_a") == 0
        with limits.hold("cal_a", "google", wait=0) as next_job:
            assert next_job
            assert limits.held("cal_a") == 1
    assert limits.held("cal_a") == 0


class CommitGateWorker:
    """Stands in for ManagedEventWorker: each row's write is done at once, then it waits
    at a gate standing for its finishing (group) commit."""

    def __init__(self, rows: int) -> None:
        self.due = list(range(rows))
        self.waiting: set[int] = set()
        self.done: list[int] = []
        self.gate = threading.Event()
        self.worker_id = "w:events"
        self._lock = threading.Lock()

    def claim_jobs(self, limit: int) -> list[RowJob]:
        with self._lock:
            taken, self.due = self.due[:limit], self.due[limit:]
            return [RowJob(row) for row in taken]

    def process_job(self, job: RowJob) -> None:
        job.release_dispatch_slot()  # as finish_write does before its commit
        with self._lock:
            self.waiting.add(job.row_id)
        self.gate.wait(10)
        with self._lock:
            self.waiting.discard(job.row_id)
            self.done.append(job.row_id)


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_rows_waiting_for_their_commit_give_their_slots_to_the_next_writes(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    job = ManagedEventJob(engine, settings, box, "w", threading.Event())
    worker = CommitGateWorker(rows=job.size * 3)
    job.worker = worker  # type: ignore[assignment]
    try:
        job.dispatch()
        _wait_for(lambda: len(worker.waiting) == job.size * 3)
        assert len(worker.waiting) == job.size * 3  # all written, the commit still pending
        worker.gate.set()
        _wait_for(lambda: len(worker.done) == job.size * 3)
        assert sorted(worker.done) == list(range(job.size * 3))
    finally:
        worker.gate.set()
        job.stop_event.set()
        job._pool.shutdown(wait=True)


def test_at_most_finishing_threads_rows_wait_for_their_commit_beyond_the_slots(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    job = ManagedEventJob(engine, settings, box, "w", threading.Event())
    job.finishing_threads = 3
    worker = CommitGateWorker(rows=job.size * 4)
    job.worker = worker  # type: ignore[assignment]
    try:
        job.dispatch()
        _wait_for(lambda: len(worker.waiting) == job.size + 3)
        time.sleep(0.2)  # no more come
        assert len(worker.waiting) == job.size + 3
        worker.gate.set()
        _wait_for(lambda: len(worker.done) == job.size * 4)
        assert sorted(worker.done) == list(range(job.size * 4))
    finally:
        worker.gate.set()
        job.stop_event.set()
        job._pool.shutdown(wait=True)
