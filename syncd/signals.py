"""SIGTERM/SIGINT handling shared by ``syncd run``, ``serve`` and ``demo``.

Handlers are installed before anything starts, so a signal that arrives during start-up
still leads to a clean shutdown instead of the default immediate death.
"""

from __future__ import annotations

import logging
import signal
import threading
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
    """Block until ``stop`` is set (short waits keep the main thread responsive to signals)."""
    while not stop.wait(0.5):
        pass
