"""Pages fetched ahead in a helper thread reach the engine as the adapter made them, alone or
in batches of those already fetched."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from syncd.sync.prefetch import prefetched, prefetched_batches

REQUEST = contextvars.ContextVar("request", default="none")


def never(page: object) -> bool:
    return False


def always(batch: list[int], page: int) -> bool:
    return True


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


def test_pages_fetched_while_one_was_worked_on_come_as_one_batch() -> None:
    fetched = threading.Event()

    def pages() -> Iterator[int]:
        yield from range(5)
        fetched.set()

    batches = prefetched_batches(pages(), is_last=never, joins=always, ahead=10)
    assert next(batches) == [0]
    assert fetched.wait(timeout=5)
    assert list(batches) == [[1, 2, 3, 4]]


def test_a_batch_never_waits_for_a_page_not_fetched_yet() -> None:
    release = threading.Event()

    def pages() -> Iterator[int]:
        yield 0
        yield 1
        release.wait(timeout=5)
        yield 2

    batches = prefetched_batches(pages(), is_last=never, joins=always, ahead=10)
    assert next(batches) == [0]
    assert next(batches) == [1]  # page 2 is held back by the adapter: not waited for
    release.set()
    assert list(batches) == [[2]]


def test_pages_joins_refuses_start_the_next_batch() -> None:
    fetched = threading.Event()

    def pages() -> Iterator[int]:
        yield from range(5)
        fetched.set()

    def at_most_two(batch: list[int], page: int) -> bool:
        return len(batch) < 2

    batches = prefetched_batches(pages(), is_last=never, joins=at_most_two, ahead=10)
    assert next(batches) == [0]
    assert fetched.wait(timeout=5)
    assert list(batches) == [[1, 2], [3, 4]]


def test_the_last_page_ends_its_batch() -> None:
    fetched = threading.Event()

    def pages() -> Iterator[int]:
        yield from range(4)
        fetched.set()

    batches = prefetched_batches(pages(), is_last=lambda page: page == 2, joins=always, ahead=10)
    assert next(batches) == [0]
    assert fetched.wait(timeout=5)
    assert list(batches) == [[1, 2], [3]]


def test_a_page_heavier_than_the_limit_still_gets_through_alone() -> None:
    batches = prefetched_batches(
        iter([1, 50, 2]), is_last=never, joins=always, ahead=10, weight=lambda page: page
    )
    assert [page for batch in batches for page in batch] == [1, 50, 2]


def test_the_adapter_runs_ahead_by_at_most_the_limit_in_weight() -> None:
    produced: list[int] = []

    def pages() -> Iterator[int]:
        for number in range(20):
            produced.append(number)
            yield number

    for batch in prefetched_batches(pages(), is_last=never, ahead=3):
        time.sleep(0.02)  # committing: the producer has all the time it wants
        # three pages waiting in the hand-off, one more in the making
        assert len(produced) <= batch[-1] + 1 + 3 + 1
