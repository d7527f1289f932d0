"""Managed-event writes are bounded per calendar and per provider: a busy calendar holds
only its share, other calendars go on, and a job that waits too long gets nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from syncd.conferencing.limits import WriteLimits


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
