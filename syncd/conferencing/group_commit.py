"""Group commit: the writer threads' finishing transactions, committed together.

Every managed event ends in one transaction (row written, provider item stored, webhooks
enqueued). Committed one by one, a burst pays each event's statements and commit
separately, and on SQLite the writer threads queue for the write lock one event at a
time. ``GroupCommit`` lets the first thread to finish commit alone and collects what
the others finish meanwhile into the next transaction, so under load a transaction
carries many events (their statements batched), and when idle an event is committed at
once, never held back for a batch to fill.

Each item still commits atomically with its batch: a ``kill -9`` before the commit
leaves every item of the batch to be redone by its row's next attempt, exactly as a
kill before a lone commit would. A batch that fails is retried item by item, so one
bad event fails alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["MAX_BATCH", "GroupCommit"]

T = TypeVar("T")

#: Most items in one transaction (a pool's worth of writer threads, with room).
MAX_BATCH = 32


class GroupCommit(Generic[T]):
    """``submit(item)`` returns once ``commit`` has committed a batch holding ``item``
    (or raises what committing it alone raised)."""

    def __init__(self, commit: Callable[[list[T]], None], max_batch: int = MAX_BATCH) -> None:
        self._commit = commit
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[tuple[T, Future[None]]] = []
        self._leading = False
        self.batches = 0

    def submit(self, item: T) -> None:
        future: Future[None] = Future()
        with self._lock:
            self._queue.append((item, future))
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        future.result()

    def _lead(self) -> None:
        """Commit batches until nothing is queued, then hand leadership back."""
        while True:
            with self._lock:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                if not batch:
                    self._leading = False
                    return
            try:
                self._commit_batch(batch)
            except BaseException as error:  # SystemExit, KeyboardInterrupt: pass it on
                with self._lock:
                    waiting, self._queue = self._queue, []
                    self._leading = False
                for _item, future in [*batch, *waiting]:
                    if not future.done():
                        future.set_exception(error)
                raise

    def _commit_batch(self, batch: list[tuple[T, Future[None]]]) -> None:
        self.batches += 1
        try:
            self._commit([item for item, _future in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for item, future in batch:  # one at a time: a bad item fails alone
                try:
                    self._commit([item])
                except Exception as single:
                    future.set_exception(single)
                else:
                    future.set_result(None)
            return
        for _item, future in batch:
            future.set_result(None)
