"""Pages fetched one ahead in a helper thread reach the engine as the adapter made them."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from syncd.sync.prefetch import prefetched

REQUEST = contextvars.ContextVar("request", default="none")


def never(page: object) -> bool:
    return False


def test_every_page_arrives_in_order() -> None:
    assert list(prefetched(iter(range(50)), is_last=never)) == list(range(50))


def test_an_adapter_error_surfaces_after_the_pages_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("page 3 failed")

    seen: list[int] = []
    with pytest.raises(LookupError, match="page 3 failed"):
        for page in prefetched(pages(), is_last=never):
            seen.append(page)
    assert seen == [1, 2]


def test_the_adapter_runs_at_most_one_page_ahead() -> None:
    produced: list[int] = []

    def pages() -> Iterator[int]:
        for number in range(10):
            produced.append(number)
            yield number

    for page in prefetched(pages(), is_last=never):
        time.sleep(0.02)  # committing: the producer has all the time it wants
        # page N is being committed: N+1 may wait in the hand-off, N+2 be in the making
        assert len(produced) <= page + 3


def test_a_consumer_that_stops_early_closes_the_adapter_generator() -> None:
    closed = threading.Event()

    def pages() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    for page in prefetched(pages(), is_last=never):
        if page == 3:
            break
    assert closed.wait(timeout=5)


def test_a_commit_error_stops_the_producer() -> None:
    closed = threading.Event()

    def pages() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    with pytest.raises(RuntimeError):
        for page in prefetched(pages(), is_last=never):
            if page == 2:
                raise RuntimeError("commit failed")
    assert closed.wait(timeout=5)


def test_the_adapter_sees_the_callers_context() -> None:
    def pages() -> Iterator[str]:
        yield "first page, fetched by the caller"
        yield REQUEST.get()
        yield threading.current_thread().name

    REQUEST.set("run-42")
    _, context_seen, thread_name = list(prefetched(pages(), is_last=never))
    assert context_seen == "run-42"
    assert thread_name == "syncd-prefetch"


def test_a_single_last_page_is_fetched_without_a_thread() -> None:
    def pages() -> Iterator[str]:
        yield threading.current_thread().name

    assert list(prefetched(pages(), is_last=lambda page: True)) == [threading.current_thread().name]


def test_an_error_on_the_first_page_surfaces_at_once() -> None:
    def pages() -> Iterator[int]:
        raise LookupError("cursor expired")
        yield 1

    with pytest.raises(LookupError, match="cursor expired"):
        next(prefetched(pages(), is_last=never))
