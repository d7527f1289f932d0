"""The availability benchmark runs end to end at smoke size and prints its figure lines.

Nothing is timed here: figures are printed, never asserted (machines differ); this only
keeps the benchmark working as the store, the engine and the API change.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

NUMBER = r"\d+\.\d+"
FIGURES = [
    r"^DATA sqlite: 3 members x 200 events over 90 days \(\d+ occurrence rows\)",
    rf"^FLOOR raw indexed SELECT .*: median {NUMBER} ms",
    rf"^CORE read_spans .*: median {NUMBER} ms",
    rf"^STAGES of core \(median\): session \+ read_spans {NUMBER} ms",
    rf"^HANDLER availability\(\) .*: median {NUMBER} ms",
    rf"^RATIO in-process core / floor: {NUMBER} \(median\)",
    r"^CHECK same busy time: Radicale FREEBUSY == syncd occurrences",
    rf"^RADICALE free-busy-query REPORT .*: median {NUMBER} ms",
    rf"^SYNCD POST /v1/availability .*\[as shipped\]: median {NUMBER} ms",
    rf"^RATIO syncd availability / Radicale free-busy \[as shipped\]: {NUMBER} \(median\)",
    rf"^LOAD \[as shipped\] concurrency +1: +{NUMBER} req/s, p50 +{NUMBER} ms, p99 +{NUMBER} ms",
    rf"^LOAD \[as shipped\] concurrency +4: +{NUMBER} req/s, .* 0 errors",
    rf"^LOAD \[with TCP_NODELAY\] concurrency +4: +{NUMBER} req/s, .* 0 errors",
]


def test_availability_benchmark_runs_at_smoke_size() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.availability", "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for pattern in FIGURES:
        assert re.search(pattern, completed.stdout, re.MULTILINE), (
            f"missing {pattern!r} in:\n{completed.stdout}"
        )
