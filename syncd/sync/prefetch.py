"""Fetch a calendar's next page while the engine commits the one before.

A sync alternates waiting for the provider (the request, the download, the adapter's
parsing) and committing a page (expansion, SQL). :func:`prefetched` runs the adapter's
page generator in a helper thread, one page ahead, so the provider's time overlaps the
engine's: on two cores the provider (or its emulator) answers while the engine writes,
and SQLite and socket reads release the GIL.

Nothing about crash safety changes: pages still reach the engine in the adapter's order,
each still commits with its own cursor, and a page fetched ahead but not yet committed is
simply fetched again on resume. An adapter error surfaces where the engine asks for the
page that failed, after every page before it was committed, as without the thread.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Pages fetched ahead of the one being committed (each page is bounded by the adapter).
AHEAD = 1
#: How often a blocked producer looks whether the consumer has gone away.
_POLL_SECONDS = 0.2


_NOTHING = object()


class _Done:
    """The producer's last message: the pages ran out, or ``error`` was raised."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class _Producer:
    """The helper thread's side: runs the generator, hands pages over one at a time."""

    def __init__(self, pages: Iterator[T], ahead: int) -> None:
        self.pages = pages
        self.handoff: queue.Queue[object] = queue.Queue(maxsize=max(1, ahead))
        self.closing = threading.Event()

    def put(self, message: object) -> bool:
        """Hand ``message`` over; False once the consumer has gone away."""
        while not self.closing.is_set():
            try:
                self.handoff.put(message, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def run(self) -> None:
        try:
            for page in self.pages:
                if not self.put(page):
                    break
            else:
                self.put(_Done())
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            self.put(_Done(error))
        finally:
            close = getattr(self.pages, "close", None)
            if close is not None:
                close()

    def stop(self) -> None:
        """The consumer is done: let a producer blocked on a full hand-off finish."""
        self.closing.set()
        while True:
            try:
                self.handoff.get_nowait()
            except queue.Empty:
                return


def prefetched(pages: Iterator[T], is_last: Callable[[T], bool], ahead: int = AHEAD) -> Iterator[T]:
    """The items of ``pages``, in order, with up to ``ahead`` more fetched in a thread.

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
        yield first  # type: ignore[misc]
        yield from pages
        return
    producer = _Producer(pages, ahead)
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(producer.run,), name="syncd-prefetch", daemon=True
    )
    thread.start()
    try:
        yield first  # type: ignore[misc]
        while True:
            message = producer.handoff.get()
            if isinstance(message, _Done):
                if message.error is not None:
                    raise message.error
                return
            yield message  # type: ignore[misc]
    finally:
        producer.stop()
