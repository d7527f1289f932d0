"""``providers.read_ahead``: the next item is produced in a helper thread while the
caller holds the current one; order, errors and early stops behave as without it."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from providers.read_ahead import read_ahead

WAIT = 10.0
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_items_come_in_order() -> None:
    assert list(read_ahead(iter(range(50)), "test")) == list(range(50))


def test_an_empty_generator_gives_nothing() -> None:
    assert list(read_ahead(iter([]), "test")) == []


def test_the_next_item_is_produced_while_the_caller_holds_the_current_one() -> None:
    second_started = threading.Event()

    def pages() -> Iterator[int]:
        yield 1
        second_started.set()
        yield 2

    items = read_ahead(pages(), "test")
    assert next(items) == 1
    assert second_started.wait(WAIT)  # without the caller asking for it
    assert list(items) == [2]


def test_items_are_produced_in_a_named_helper_thread_in_the_callers_context() -> None:
    seen: list[tuple[str, str]] = []

    def pages() -> Iterator[int]:
        seen.append((threading.current_thread().name, request_id.get()))
        yield 1

    request_id.set("req-7")
    assert list(read_ahead(pages(), "syncd-test-reader")) == [1]
    ((thread_name, context_value),) = seen
    assert thread_name.startswith("syncd-test-reader")
    assert context_value == "req-7"


def test_an_error_reaches_the_caller_after_every_item_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("page 3 failed")

    received: list[int] = []
    with pytest.raises(LookupError, match="page 3 failed"):
        for item in read_ahead(pages(), "test"):
            received.append(item)
    assert received == [1, 2]


def test_stopping_early_waits_for_the_step_in_flight_then_closes_the_generator() -> None:
    release = threading.Event()
    steps: list[str] = []

    def pages() -> Iterator[int]:
        try:
            yield 1
            steps.append("second started")
            release.wait(WAIT)
            steps.append("second done")
            yield 2
            steps.append("third started")  # never: closed after the second
            yield 3
        finally:
            steps.append("closed")

    items = read_ahead(pages(), "test")
    assert next(items) == 1
    threading.Timer(0.2, release.set).start()
    items.close()  # type: ignore[attr-defined]
    assert steps == ["second started", "second done", "closed"]
