"""The daemon caps glibc's malloc arenas (the soak's RSS creep), unless the operator
chose a number: sixteen threads churning memory then share two arenas, not sixteen."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas")

#: Sixteen threads allocate at once, then glibc's malloc_stats() lists the arenas.
PROBE = """
import ctypes, sys, threading
from syncd.memory import limit_malloc_arenas
if sys.argv[1] == "limit":
    print(limit_malloc_arenas())
barrier = threading.Barrier(16)
def churn():
    barrier.wait()
    for _ in range(200):
        blob = [bytearray(2048) for _ in range(200)]
        del blob
threads = [threading.Thread(target=churn) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str, **environment: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | environment
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=60,
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines()), done.stdout


def test_limited_threads_share_two_arenas() -> None:
    arenas, said = _arenas("limit")
    assert said.strip() == "True"
    assert arenas <= 2


def test_without_the_limit_the_threads_spread_over_more_arenas() -> None:
    arenas, _ = _arenas("free")
    assert arenas > 2  # what the limit is for


def test_the_operators_own_malloc_arena_max_is_left_alone() -> None:
    arenas, said = _arenas("limit", MALLOC_ARENA_MAX="4")
    assert said.strip() == "False"
    assert 2 < arenas <= 4
