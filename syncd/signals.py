"""SIGTERM/SIGINT handling shared by ``syncd run``, ``serve`` and ``demo``.

Handlers are installed before anything starts, so a signal that arrives during start-up
still leads to a clean shutdown instead of the default immediate death.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM or SIGINT will set."""
    stop = threading.Event()

    def _handler(signum: int, _frame: Any) -> None:
        logging.getLogger("syncd").info("received signal %d, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def wait_until_set(stop: threading.Event) -> None:
    """Block until ``stop`` is set (see :func:`stopped_after`)."""
    while not stopped_after(stop):
        pass


def stopped_after(stop: threading.Event, interval: float = 0.5) -> bool:
    """Sleep up to ``interval`` seconds unless ``stop`` is set; True once it is.

    Never ``stop.wait()`` in the main thread: the signal handler runs there and calls
    ``stop.set()``, which takes the event's lock; if the signal lands while ``wait`` holds
    that lock, the process deadlocks (seen as a daemon ignoring SIGTERM). Sleeping and
    polling the lock-free ``is_set()`` cannot.
    """
    if not stop.is_set():
        time.sleep(interval)
    return stop.is_set()
