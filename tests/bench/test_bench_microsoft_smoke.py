"""The Microsoft sync benchmark runs end to end at smoke size and prints its figure lines.

Nothing is timed or asserted about speed (machines differ): this only keeps
``bench/sync_microsoft.py`` working as the engine and the adapter change.
"""

from __future__ import annotations

import re

import pytest

from tests.support.bench import COMMON_FIGURES, assert_figures, run_benchmark

pytestmark = pytest.mark.slow


def test_microsoft_sync_benchmark_runs_at_smoke_size() -> None:
    output = run_benchmark("bench.sync_microsoft")
    assert_figures(output, COMMON_FIGURES)
    assert re.search(r"stored 300 events", output)
    assert re.search(r"floor saw 300 items", output)
