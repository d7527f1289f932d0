"""The bulk INSERT benchmark runs at smoke size and prints its four figure lines.

Nothing is timed or asserted about speed (machines differ): this only keeps
``bench/bulk_insert_beside_thread.py`` working as the store changes.
"""

from __future__ import annotations

import pytest

from tests.support.bench import assert_figures, run_benchmark

pytestmark = pytest.mark.slow

NUMBER = r"\d+\.\d+"


def test_bulk_insert_benchmark_runs_at_smoke_size() -> None:
    output = run_benchmark("bench.bulk_insert_beside_thread")
    assert_figures(
        output,
        [
            rf"^FLOOR executemany of 100 event rows, alone: median {NUMBER} s",
            rf"^FLOOR executemany of 100 event rows, beside a busy thread: median {NUMBER} s",
            rf"^LEAN multi-row INSERTs of 100 event rows, alone: median {NUMBER} s",
            rf"^LEAN multi-row INSERTs of 100 event rows, beside a busy thread: median {NUMBER} s",
        ],
    )
