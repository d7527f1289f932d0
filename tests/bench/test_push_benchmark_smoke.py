"""The push latency benchmark runs end to end at smoke size and prints its figures.

Figures are printed, never asserted against the target (machines differ); this only
keeps the benchmark working as the daemon, the API and the emulators change.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def test_push_latency_benchmark_runs_at_smoke_size() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.push_latency", "--smoke", "--provider", "google"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    for pattern in (
        r"^PUSH google: n=4 p50 \d+\.\d+ s, p95 \d+\.\d+ s",
        r"^POLL google every 2 s: n=2 p50 \d+\.\d+ s",
        r"^POLL google model at the default 300 s interval",
    ):
        assert re.search(pattern, completed.stdout, re.MULTILINE), completed.stdout
