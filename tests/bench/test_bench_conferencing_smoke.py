"""The events and conferencing benchmark runs end to end at smoke size.

Figures are printed, never asserted (machines differ); this keeps ``bench/conferencing.py``
working as the API, the daemon job and webhook delivery change.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

NUMBER = r"\d+(\.\d+)?"
FIGURES = [
    rf"^UPSERT sqlite: 10 events, concurrency 4: {NUMBER} upserts/s",
    rf"^WEBHOOK sqlite 202 -> conferencing_assigned: p50 {NUMBER} ms, p95 {NUMBER} ms, "
    rf"p99 {NUMBER} ms",
    rf"^DRAIN sqlite: all 10 webhooks {NUMBER} s after the first 202",
    rf"^CPU sqlite: daemon {NUMBER} ms per event",
    r"^TARGET sqlite p99 < 2 s: (met|NOT met)",
]


def test_conferencing_benchmark_runs_at_smoke_size() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.conferencing", "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    for pattern in FIGURES:
        assert re.search(pattern, completed.stdout, flags=re.MULTILINE), (
            pattern,
            completed.stdout,
        )
