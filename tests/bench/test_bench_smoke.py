"""The sync benchmarks run end to end at smoke size and print their figure lines.

Nothing here is timed: the figures are printed, never asserted (machines differ); this
only keeps the benchmarks working as the engine and adapters change.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

COMMON_FIGURES = [
    r"^FLOOR .*: median \d+\.\d+ s",
    r"^SYNCD full sync .*: median \d+\.\d+ s",
    r"^RATIO syncd full / floor: \d+\.\d+ \(median\)",
    r"^SYNCD no-change incremental sync: median \d+\.\d+ s",
    r"^INCREMENTAL requests per calendar: 1 ",
]


def run_benchmark(module: str) -> str:
    """Run ``python -m <module> --smoke`` from the repository root; return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-m", module, "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def assert_figures(output: str, patterns: list[str]) -> None:
    for pattern in patterns:
        assert re.search(pattern, output, re.MULTILINE), f"missing {pattern!r} in:\n{output}"


def test_caldav_sync_benchmark_runs_at_smoke_size() -> None:
    output = run_benchmark("bench.sync_caldav")
    assert_figures(output, COMMON_FIGURES)
    assert re.search(r"stored 200 events", output)
    if "VDIRSYNCER skipped" not in output:
        assert_figures(output, [r"^RATIO syncd full / vdirsyncer sync: \d+\.\d+ \(median\)"])


def test_google_sync_benchmark_runs_at_smoke_size() -> None:
    output = run_benchmark("bench.sync_google")
    assert_figures(output, COMMON_FIGURES)
    assert re.search(r"stored 300 events", output)
