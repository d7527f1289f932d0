"""Once up, the daemon moves its start-up heap out of the cyclic collector's walks, and
the collector still frees what the daemon allocates afterwards."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT

#: Run in a process of its own: freezing is for the whole process (pytest's included).
PROBE = """
import gc, weakref
from syncd.memory import freeze_startup_heap

class Node:
    pass

kept = [Node() for _ in range(1000)]
frozen = freeze_startup_heap()
assert frozen >= len(kept), frozen
assert not any(gc.is_tracked(n) and n in gc.get_objects(generation=2) for n in kept[:3])

cycle = Node()
cycle.self = cycle
gone = weakref.ref(cycle)
del cycle
gc.collect()
print(frozen, gone() is None)
"""


def _printed_by(probe: str) -> list[str]:
    """What ``probe`` prints, run in a Python process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


def test_the_start_up_heap_is_frozen_and_later_cycles_are_still_collected() -> None:
    frozen, collected = _printed_by(PROBE)
    assert int(frozen) > 1000
    assert collected == "True"


#: A cycle the collector must find on its own (no gc.collect()), only once the spaced
#: out threshold's allocations have happened.
SPACED_PROBE = """
import gc, weakref
from syncd.memory import YOUNG_COLLECTION_THRESHOLD, settle_collector

class Node:
    pass

settle_collector()
cycle = Node()
cycle.self = cycle
gone = weakref.ref(cycle)
del cycle
few = [[] for _ in range(YOUNG_COLLECTION_THRESHOLD // 5)]
alive_after_few = gone() is not None
many = [[] for _ in range(YOUNG_COLLECTION_THRESHOLD * 2)]
print(gc.get_threshold()[0], alive_after_few, gone() is None)
"""


def test_young_collections_wait_for_the_spaced_out_threshold_and_still_free_cycles() -> None:
    threshold, alive_after_few, collected = _printed_by(SPACED_PROBE)
    assert int(threshold) == 50_000
    assert alive_after_few == "True"
    assert collected == "True"
