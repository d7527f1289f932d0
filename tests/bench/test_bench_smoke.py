"""The sync benchmarks run end to end at smoke size and print their figure lines.

Nothing here is timed: the figures are printed, never asserted (machines differ); this
only keeps the benchmarks working as the engine and adapters change.
"""

from __future__ import annotations

import re

import pytest

from tests.support.bench import COMMON_FIGURES, assert_figures, run_benchmark

pytestmark = pytest.mark.slow


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
    assert_figures(
        output,
        [
            r"^RSS syncd full sync peak: \d+ MB",
            r"^LOWER BOUND adapter \+ store floor: \d+\.\d+ s = \d+\.\d+x the floor",
        ],
    )
    if "GCAL_SYNC skipped" not in output:
        assert_figures(
            output,
            [
                r"^RATIO syncd full / gcal_sync full: \d+\.\d+ \(median\)",
                r"^RATIO syncd no-change / gcal_sync no-change: \d+\.\d+ \(median\)",
            ],
        )
