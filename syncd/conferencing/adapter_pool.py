"""Calendar adapters kept for reuse by the managed-event writer, bounded in number.

Building an adapter is costly (the Google client parses its discovery document: ~0.1 s
of CPU, ~1 MB held), so the writer reuses them; an adapter is not thread-safe (httplib2),
so one is lent to one thread at a time. Kept per thread instead, the daemon's RSS grew
by ~1 MB per profile and writer thread (a 10-minute soak over 20 accounts: 172 → 327 MB);
here at most ``size`` idle adapters are kept in all, the least recently used dropped
first, and a profile needs only as many as it has writes in flight.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["AdapterPool"]

Adapter = TypeVar("Adapter")


class AdapterPool(Generic[Adapter]):
    """Idle adapters by key (profile and credentials), at most ``size`` in all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.built = 0
        self._idle: OrderedDict[tuple[Hashable, int], Adapter] = OrderedDict()
        self._serial = 0
        self._lock = threading.Lock()

    @contextmanager
    def lend(self, key: Hashable, build: Callable[[], Adapter]) -> Iterator[Adapter]:
        """An idle adapter for ``key`` (else a new one from ``build``), returned after."""
        adapter = self._take(key)
        if adapter is None:
            adapter = build()
            self.built += 1
        try:
            yield adapter
        finally:
            self._give_back(key, adapter)

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def _take(self, key: Hashable) -> Adapter | None:
        with self._lock:
            for slot in reversed(self._idle):  # the most recently returned first
                if slot[0] == key:
                    return self._idle.pop(slot)
        return None

    def _give_back(self, key: Hashable, adapter: Adapter) -> None:
        with self._lock:
            self._serial += 1
            self._idle[(key, self._serial)] = adapter
            while len(self._idle) > self.size:
                self._idle.popitem(last=False)
