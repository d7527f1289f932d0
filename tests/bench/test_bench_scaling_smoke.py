"""The scaling benchmark runs at a small size and prints its table and verdict lines.

Nothing is timed or asserted about speed; this only keeps the benchmark working.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.bench import assert_figures
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def test_scaling_benchmark_prints_its_table_at_small_sizes() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.sync_scaling",
            "--sizes",
            "100",
            "200",
            "--repeat",
            "1",
            "--providers",
            "caldav",
            "google",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert_figures(
        completed.stdout,
        [
            r"^SCALING \| google \| 200 \| \d+\.\d+ s \| \d+\.\d+ ms",
            r"^RATIO google per-event cost 200 / 200: \d+\.\d+",
            r"^RSS google at 200: \d+ MB",
            r"^SCALING \| caldav \| 200 \| \d+\.\d+ s \| \d+\.\d+ ms \| \d+\.\d+ s \| \d+\.\d+ s",
            r"^  caldav without the server's answer time: per event \d+\.\d+ / \d+\.\d+ ms",
            r"^RSS caldav at 200: \d+ MB",
        ],
    )
