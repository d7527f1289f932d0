"""glibc's malloc arenas, capped for a daemon of many threads.

glibc gives a thread that finds the arenas busy an arena of its own, up to eight per
core. The daemon's sync workers, managed-event writers, delivery senders and API
threads spread their short-lived allocations over all of them, and the space freed
inside each arena is seldom handed back to the system, so RSS creeps while nothing
leaks: +1.1 MB/min over the 10-minute soak (bench/soak.py), +0.24 MB/min with two
arenas. ``MALLOC_ARENA_MAX`` set by the operator wins (glibc read it at start-up);
with another C library this does nothing.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MALLOC_ARENAS", "limit_malloc_arenas"]

#: Arenas the daemon allows itself (glibc's ``M_ARENA_MAX``).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap the process's malloc arenas; True when glibc took the cap. Call it before
    the daemon starts its threads (arenas already made stay)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
