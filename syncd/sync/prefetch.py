"""Fetch a calendar's next pages while the engine commits the ones before.

A sync alternates waiting for the provider (the request, the download, the adapter's
parsing) and committing a page (expansion, SQL). :func:`prefetched` runs the adapter's
page generator in a helper thread, ahead of the engine, so the provider's time overlaps
the engine's: on two cores the provider (or its emulator) answers while the engine writes,
and SQLite and socket reads release the GIL. :func:`prefetched_batches` also hands over,
together with the next page, the pages already fetched behind it, so an engine slower
than its provider can commit several in one transaction (``syncd/sync/coalesce.py``).

Nothing about crash safety changes: pages still reach the engine in the adapter's order,
and a page fetched ahead but not yet committed is simply fetched again on resume. An
adapter error surfaces where the engine asks for the page that failed, after every page
before it was handed over, as without the thread.
"""

from __future__ import annotations

import collections
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: How much the adapter may fetch ahead of the page being committed, in ``weight`` units
#: (one page each unless the caller weighs them); one page is always allowed.
AHEAD = 1


_NOTHING = object()


class _Done:
    """The producer's last message: the pages ran out, or ``error`` was raised."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _one(item: object) -> int:
    return 1


def _never(batch: list[T], item: T) -> bool:
    return False


class _Producer:
    """The helper thread's side: runs the generator, hands pages over in order.

    The hand-off holds at most ``limit`` weight, but always one message, so a page
    heavier than the limit still gets through (alone).
    """

    def __init__(self, pages: Iterator[T], limit: int, weight: Callable[[T], int]) -> None:
        self.pages = pages
        self.limit = limit
        self.weight = weight
        self.handoff: collections.deque[tuple[object, int]] = collections.deque()
        self.held = 0
        self.changed = threading.Condition()
        self.closing = False

    def put(self, message: object, weight: int) -> bool:
        """Hand ``message`` over; False once the consumer has gone away."""
        with self.changed:
            while not self.closing and self.handoff and self.held + weight > self.limit:
                self.changed.wait()
            if self.closing:
                return False
            self.handoff.append((message, weight))
            self.held += weight
            self.changed.notify_all()
            return True

    def take(self) -> object:
        """The next message, waiting for it."""
        with self.changed:
            while not self.handoff:
                self.changed.wait()
            return self._pop()

    def take_ready(self, accept: Callable[[object], bool]) -> object:
        """The next message if it is already here and ``accept`` takes it, else _NOTHING."""
        with self.changed:
            if not self.handoff or not accept(self.handoff[0][0]):
                return _NOTHING
            return self._pop()

    def _pop(self) -> object:
        message, weight = self.handoff.popleft()
        self.held -= weight
        self.changed.notify_all()
        return message

    def run(self) -> None:
        try:
            for page in self.pages:
                if not self.put(page, self.weight(page)):
                    break
            else:
                self.put(_Done(), 0)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            self.put(_Done(error), 0)
        finally:
            close = getattr(self.pages, "close", None)
            if close is not None:
                close()

    def stop(self) -> None:
        """The consumer is done: let a producer blocked on a full hand-off finish."""
        with self.changed:
            self.closing = True
            self.handoff.clear()
            self.changed.notify_all()


def _with_ready(
    producer: _Producer,
    batch: list[T],
    is_last: Callable[[T], bool],
    joins: Callable[[list[T], T], bool],
) -> list[T]:
    """``batch`` with the pages already handed over behind it that ``joins`` accepts."""

    def accept(message: object) -> bool:
        return not isinstance(message, _Done) and joins(batch, message)  # type: ignore[arg-type]

    while not is_last(batch[-1]):
        joining = producer.take_ready(accept)
        if joining is _NOTHING:
            break
        batch.append(joining)  # type: ignore[arg-type]
    return batch


def prefetched(pages: Iterator[T], is_last: Callable[[T], bool], ahead: int = AHEAD) -> Iterator[T]:
    """The items of ``pages``, in order, with up to ``ahead`` more fetched in a thread."""
    for batch in prefetched_batches(pages, is_last, ahead=ahead):
        yield from batch


def prefetched_batches(
    pages: Iterator[T],
    is_last: Callable[[T], bool],
    joins: Callable[[list[T], T], bool] = _never,
    ahead: int = AHEAD,
    weight: Callable[[T], int] = _one,
) -> Iterator[list[T]]:
    """The items of ``pages`` in order, in batches, fetched ahead in a thread.

    Each batch is the next item (waited for) followed by the items already fetched behind
    it, for as long as ``joins(batch, item)`` accepts them: nothing is waited for to fill
    a batch, and an item ``is_last`` says ends the sync ends its batch. The thread may
    hold up to ``ahead`` (in ``weight`` units) items besides the one in the making.

    The first item is fetched here; when ``is_last`` says it is the only one (an
    incremental sync with nothing or little to do) no thread is started at all. Otherwise
    the rest of the generator runs in the thread, in a copy of the caller's context (so
    log fields follow it), while the caller works on the first. When the consumer stops
    early (an error while committing, a stop request) the thread is told to finish: it
    closes the generator after its current page and exits.
    """
    first = next(pages, _NOTHING)
    if first is _NOTHING:
        return
    if is_last(first):  # type: ignore[arg-type]
        yield [first]  # type: ignore[list-item]
        for item in pages:
            yield [item]
        return
    producer = _Producer(pages, ahead, weight)
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(producer.run,), name="syncd-prefetch", daemon=True
    )
    thread.start()
    try:
        yield [first]  # type: ignore[list-item]
        while True:
            message = producer.take()
            if isinstance(message, _Done):
                if message.error is not None:
                    raise message.error
                return
            yield _with_ready(producer, [message], is_last, joins)  # type: ignore[list-item]
    finally:
        producer.stop()
