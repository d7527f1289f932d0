"""The webhook delivery-rate benchmark runs end to end at smoke size.

Figures are printed, never asserted (machines differ); this keeps
``bench/webhook_rate.py`` working as the outbox and the delivery loop change.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

FIGURES = [
    r"^DELIVERY sqlite: 100 of 100 delivered in \d+\.\d+ s: \d+/s",
    r"^FLOOR sqlite: bare POSTs from a pool of \d+: \d+/s",
    r"^TARGET sqlite >= 300 deliveries/s: (met|NOT met)",
]


def test_webhook_rate_benchmark_runs_at_smoke_size() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.webhook_rate", "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    for pattern in FIGURES:
        assert re.search(pattern, completed.stdout, flags=re.MULTILINE), (
            pattern,
            completed.stdout,
        )
