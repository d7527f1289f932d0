"""The events and conferencing benchmark runs end to end at smoke size.

Figures are printed, never asserted (machines differ); this keeps ``bench/conferencing.py``
working as the API, the daemon job and webhook delivery change.
"""

from __future__ import annotations

import pytest

from tests.support.bench import assert_figures, run_benchmark

pytestmark = pytest.mark.slow

NUMBER = r"\d+(\.\d+)?"
FIGURES = [
    rf"^UPSERT sqlite: 10 events, concurrency 4: {NUMBER} upserts/s",
    rf"^WEBHOOK sqlite 202 -> conferencing_assigned: p50 {NUMBER} ms, p95 {NUMBER} ms, "
    rf"p99 {NUMBER} ms",
    rf"^DRAIN sqlite: all 10 webhooks {NUMBER} s after the first 202",
    rf"^CPU sqlite: daemon {NUMBER} ms per event",
    rf"^FLOOR sqlite .*: p50 {NUMBER} ms, p99 {NUMBER} ms; syncd p99 / floor p99 {NUMBER}",
    r"^TARGET sqlite p99 < 2 s: (met|NOT met)",
]


def test_conferencing_benchmark_runs_at_smoke_size() -> None:
    assert_figures(run_benchmark("bench.conferencing", timeout=300), FIGURES)
