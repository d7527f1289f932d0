"""The booking page slots benchmark runs end to end at smoke size and prints its figures.

Figures are printed, never asserted (machines differ, and CI's machine is busy); this
keeps ``bench/slots.py`` working as the booking page, the RTS route and the store change.
"""

from __future__ import annotations

import pytest

from tests.support.bench import assert_figures, run_benchmark

pytestmark = pytest.mark.slow

NUMBER = r"\d+\.\d+"
FIGURES = [
    r"^machine: \d+ CPUs, .*; load average ",
    r"^DATA sqlite: 3 members x 200 events over 14 days \(600 occurrence rows\)",
    r"^LINK sqlite: 3 members required, 30 min, buffers 10/10 min, start_interval 15 min, "
    r"minimum_notice 60 min, 14 days: [1-9]\d* slots offered",
    rf"^FLOOR sqlite link_for_token \+ offered_slots in process .*: p50 {NUMBER} ms, "
    rf"p95 {NUMBER} ms",
    rf"^PAGE sqlite GET /my/rts/<token>, 1 invitee at a time, 5 requests: p50 {NUMBER} ms",
    rf"^PAGE sqlite GET /my/rts/<token>, 4 concurrent invitees \(clients in this process\), "
    rf"20 requests: p50 {NUMBER} ms, "
    rf"p95 {NUMBER} ms, p99 {NUMBER} ms, {NUMBER} requests/s, 0 errors",
    r"^CHECK sqlite every page lists the floor's \d+ slots: yes",
    rf"^RATIO sqlite page at 4 invitees / floor: p50 {NUMBER}, p95 {NUMBER}",
]


def test_slots_benchmark_runs_at_smoke_size_and_prints_its_figures() -> None:
    assert_figures(run_benchmark("bench.slots", timeout=240), FIGURES)
