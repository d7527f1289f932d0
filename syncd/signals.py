"""Waiting for SIGTERM/SIGINT, shared by ``syncd run``, ``serve`` and ``demo``."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any


def wait_for_signal(stop: threading.Event) -> None:
    """Block until SIGTERM/SIGINT arrives (or ``stop`` is set elsewhere)."""

    def _handler(signum: int, _frame: Any) -> None:
        logging.getLogger("syncd").info("received signal %d, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    while not stop.wait(0.5):
        pass
