"""Produce the next item of a generator in a helper thread while the caller works on
the current one.

An adapter whose pages must be read one after another (each names the next) and then
parsed can overlap the two: while it turns page N into events, page N + 1 is already
being fetched. Beside the engine, which holds the interpreter for long stretches while it
writes a page, this also keeps the requests going: without it the pages' requests
waited for the parsing of the page before, in the same thread.

One step runs ahead at most, in one helper thread (``concurrent.futures``), in a copy of
the caller's context (log fields follow). An error raised by a step is raised to the
caller where it asks for that item, after every item before it was handed over. When the
caller stops early, the step in flight is waited for (it is one step: a page's requests
and their retries) and the generator closed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")

_END = object()


def read_ahead(items: Iterator[T], thread_name: str) -> Iterator[T]:
    """``items`` in order, each next one produced ahead in a thread named ``thread_name``."""
    context = contextvars.copy_context()

    def step() -> object:
        return context.run(next, items, _END)

    try:
        # leaving the block waits for the step in flight, so the generator is idle below
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name) as pool:
            pending = pool.submit(step)
            while True:
                item = pending.result()
                if item is _END:
                    return
                pending = pool.submit(step)
                yield cast(T, item)
    finally:
        if isinstance(items, Generator):
            items.close()
