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

Young collections: CPython collects its youngest generation every 700 container
allocations. A page of 2,500 provider items allocates tens of thousands (items, row
values, spans) that stay alive until the page commits, so every collection walked them
again and promoted them, and the middle and oldest generations, grown with them, were
walked over and over: a sixth of a Google full sync of 10,000 events (0.96 s against
0.84 s at a threshold of 50,000, 0.82 s with the collector off, in turns on one
machine). Waiting for 50,000 allocations (more than a page makes) removes nearly all of
it. Only cyclic garbage waits longer for its collection: at most those 50,000 objects,
a few megabytes; everything else is still freed by its reference count at once.
"""

from __future__ import annotations

import ctypes
import gc
import os

__all__ = [
    "MALLOC_ARENAS",
    "YOUNG_COLLECTION_THRESHOLD",
    "freeze_startup_heap",
    "limit_malloc_arenas",
    "settle_collector",
    "space_out_young_collections",
]

#: Arenas the daemon allows itself (glibc's ``M_ARENA_MAX``).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
#: Container allocations (net of frees) between two collections of the youngest
#: generation; CPython's default is 700.
YOUNG_COLLECTION_THRESHOLD = 50_000


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


def space_out_young_collections(threshold: int = YOUNG_COLLECTION_THRESHOLD) -> None:
    """Collect the youngest generation every ``threshold`` allocations instead of 700;
    the older generations keep their own thresholds (relative to the younger ones')."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(threshold, middle, oldest)


def settle_collector() -> int:
    """What a daemon does with the collector once it is up: its start-up heap frozen
    (:func:`freeze_startup_heap`, whose count this returns) and young collections spaced
    out (:func:`space_out_young_collections`)."""
    space_out_young_collections()
    return freeze_startup_heap()
