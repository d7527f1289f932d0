"""Process-wide memory settings of a long-running daemon: glibc's malloc arenas, and the
start-up heap kept out of the cyclic collector's way.

Arenas: glibc gives a thread that finds the arenas busy an arena of its own, up to eight
per core. The daemon's sync workers, managed-event writers, delivery senders and API
threads spread their short-lived allocations over all of them, and the space freed
inside each arena is seldom handed back to the system, so RSS creeps while nothing
leaks: +1.1 MB/min over the 10-minute soak (bench/soak.py), +0.24 MB/min with two
arenas. ``MALLOC_ARENA_MAX`` set by the operator wins (glibc read it at start-up);
with another C library this does nothing.

Collector: a full sync allocates hundreds of thousands of objects that live for a page
(provider items, row values, spans), so the collector's oldest generation runs again
and again, and each run walked the whole heap, start-up included: the modules,
SQLAlchemy's metadata and compiled statements, FastAPI's routes. That was a fifth of
writing a page (bench/sync_google.py). What is alive once the daemon is up stays alive
for its lifetime, so it is moved to the permanent generation (``gc.freeze``, as pre-fork
servers do) and only what the daemon allocates afterwards is ever walked.
"""

from __future__ import annotations

import ctypes
import gc
import os

__all__ = ["MALLOC_ARENAS", "freeze_startup_heap", "limit_malloc_arenas"]

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


def freeze_startup_heap() -> int:
    """Collect, then move every object still alive into the permanent generation, which
    the collector never walks; returns how many. Call it once the daemon is up (its
    modules imported, its engine and routes built)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
