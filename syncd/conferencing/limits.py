"""Bounds on concurrent managed-event writes: per calendar and per calendar provider.

The daemon writes managed events on a pool (``dispatch.ManagedEventJob``); a burst on one
calendar must not send the whole pool's width at that calendar (CalDAV servers and
Google's per-calendar quotas answer that with 429s and 503s), nor a burst on one provider
all of it at that provider. A job holds one slot of its calendar and one of its provider
while it talks to them; a job that cannot get both within ``wait`` seconds is handed back
due (another worker, or this one a moment later, takes it) rather than holding its
lease indefinitely.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WriteLimits"]


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
    def hold(self, calendar_id: str, provider: str, wait: float) -> Iterator[bool]:
        """Yields True holding a slot of both (released on exit), or False after ``wait``
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
        try:
            yield acquired
        finally:
            if acquired:
                with self._changed:
                    for key in keys:
                        self._held[key] -= 1
                        if not self._held[key]:
                            del self._held[key]
                    self._changed.notify_all()

    def held(self, calendar_id: str) -> int:
        with self._changed:
            return self._held.get(("calendar", calendar_id), 0)
