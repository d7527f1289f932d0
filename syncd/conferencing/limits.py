"""Bounds on concurrent managed-event writes: per calendar and per calendar provider.

The daemon writes managed events on a pool (``dispatch.ManagedEventJob``); a burst on one
calendar must not send the whole pool's width at that calendar (CalDAV servers and
Google's per-calendar quotas answer that with 429s and 503s), nor a burst on one provider
all of it at that provider. A job holds one slot of its calendar and one of its provider
while it talks to them (not while its finishing transaction waits for the group commit:
the write releases them first); a job that cannot get both within ``wait`` seconds is handed back
due (another worker, or this one a moment later, takes it) rather than holding its
lease indefinitely.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Held", "WriteLimits"]


class Held:
    """A job's slots (true if it got them); ``release`` gives them back once, early or
    at the end of ``hold``."""

    def __init__(self, acquired: bool, release: Callable[[], None]) -> None:
        self.acquired = acquired
        self._release: Callable[[], None] | None = release if acquired else None

    def __bool__(self) -> bool:
        return self.acquired

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class WriteLimits:
    """Counting slots keyed by calendar id and by provider name."""

    def __init__(self, per_calendar: int, per_provider: int) -> None:
        self.per_calendar = per_calendar
        self.per_provider = per_provider
        self._held: dict[tuple[str, str], int] = {}
        self._changed = threading.Condition()

    def _free(self, calendar_id: str, provider: str) -> bool:
        return (
            self._held.get(("calendar", calendar_id), 0) < self.per_calendar
            and self._held.get(("provider", provider), 0) < self.per_provider
        )

    @contextmanager
    def hold(self, calendar_id: str, provider: str, wait: float) -> Iterator[Held]:
        """Yields a true ``Held`` holding a slot of both (released on exit, or earlier by
        ``Held.release`` once the provider is done with), or a false one after ``wait``
        seconds without one (nothing held)."""
        keys = (("calendar", calendar_id), ("provider", provider))
        deadline = time.monotonic() + wait
        with self._changed:
            while not self._free(calendar_id, provider):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            acquired = self._free(calendar_id, provider)
            if acquired:
                for key in keys:
                    self._held[key] = self._held.get(key, 0) + 1
        held = Held(acquired, lambda: self._release(keys))
        try:
            yield held
        finally:
            held.release()

    def _release(self, keys: tuple[tuple[str, str], ...]) -> None:
        with self._changed:
            for key in keys:
                self._held[key] -= 1
                if not self._held[key]:
                    del self._held[key]
            self._changed.notify_all()

    def held(self, calendar_id: str) -> int:
        with self._changed:
            return self._held.get(("calendar", calendar_id), 0)
