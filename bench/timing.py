"""Repeated measurements with untimed set-up, for every benchmark.

Only the standard library: ``bench/gcal_sync_peer.py`` times the Google peer with it in
a process that imports nothing of syncd's.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["Measured", "Timings", "repeat_timed", "timed_into"]

T = TypeVar("T")
S = TypeVar("S")


@dataclass
class Timings:
    """Seconds of each repeated run, and the machine's 1-minute load average at its start
    (the machine is shared: a figure is only comparable with one taken at a like load)."""

    runs: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def describe(self) -> str:
        """``median 1.23 s, best 1.20 s (runs 1.20 1.23 1.31)``."""
        runs = " ".join(f"{run:.3f}" for run in self.runs)
        load = f"; load {min(self.loads):.1f}-{max(self.loads):.1f}" if self.loads else ""
        return f"median {self.median:.3f} s, best {self.best:.3f} s (runs {runs}{load})"


@dataclass
class Measured(Generic[T]):
    """Timings plus the result of the last run."""

    timings: Timings
    result: T


def repeat_timed(repeat: int, action: Callable[[S], T], prepare: Callable[[], S]) -> Measured[T]:
    """Run ``prepare()`` (untimed) then ``action(prepared)`` (timed), ``repeat`` times."""
    timings = Timings()
    result: Any = None
    for _ in range(max(1, repeat)):
        prepared = prepare()
        result = timed_into(timings, functools.partial(action, prepared))
    return Measured(timings, result)


def timed_into(timings: Timings, action: Callable[[], T]) -> T:
    """One timed run of ``action``, recorded in ``timings``: for figures measured in
    turn, one run of each per round, so that each round finds the shared machine alike
    for all of them (its load drifts over minutes)."""
    timings.loads.append(os.getloadavg()[0])
    started = time.perf_counter()
    result = action()
    timings.runs.append(time.perf_counter() - started)
    return result
