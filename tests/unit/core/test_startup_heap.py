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


def test_the_start_up_heap_is_frozen_and_later_cycles_are_still_collected() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, collected = done.stdout.split()
    assert int(frozen) > 1000
    assert collected == "True"
