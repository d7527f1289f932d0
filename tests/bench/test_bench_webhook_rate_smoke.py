"""The webhook delivery-rate benchmark runs end to end at smoke size.

Figures are printed, never asserted (machines differ); this keeps
``bench/webhook_rate.py`` working as the outbox and the delivery loop change.
"""

from __future__ import annotations

import pytest

from tests.support.bench import assert_figures, run_benchmark

pytestmark = pytest.mark.slow

FIGURES = [
    r"^DELIVERY sqlite: 100 of 100 delivered in \d+\.\d+ s: \d+/s",
    r"^FLOOR sqlite: bare POSTs from a pool of \d+: \d+/s",
    r"^TARGET sqlite >= 300 deliveries/s: (met|NOT met)",
]


def test_webhook_rate_benchmark_runs_at_smoke_size() -> None:
    assert_figures(run_benchmark("bench.webhook_rate", timeout=120), FIGURES)
