"""The soak benchmark runs end to end at smoke size (50 profiles, 20 s).

Figures are printed, never asserted (machines differ, and 20 s is warm-up, not a soak);
this keeps ``bench/soak.py`` working as the daemon, the API and delivery change.
"""

from __future__ import annotations

import pytest

from tests.support.bench import assert_figures, run_benchmark

pytestmark = pytest.mark.slow

NUMBER = r"[-+]?\d+(\.\d+)?"
FIGURES = [
    rf"^RSS sqlite: first {NUMBER} MB, last {NUMBER} MB, peak {NUMBER} MB; second half "
    rf"{NUMBER} MB/min",
    rf"^API sqlite: \d+ requests \({NUMBER}/s\), \d+ not 2xx or failed",
    r"^SYNC sqlite: \d+ runs ok, \d+ not ok; \d+ of 50 profiles synced",
    r"^WEBHOOKS sqlite: \d+ owed, \d+ received, \d+ lost, \d+ delivered more than once",
    r"^TARGET sqlite flat RSS, no errors, nothing lost: (met|NOT met)",
]


def test_soak_benchmark_runs_at_smoke_size() -> None:
    assert_figures(run_benchmark("bench.soak", timeout=280), FIGURES)
