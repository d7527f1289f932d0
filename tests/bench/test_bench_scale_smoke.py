"""The scale-out benchmark runs end to end at smoke size (it asserts no speed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    not os.environ.get("SYNCD_TEST_DATABASE_URL"), reason="the benchmark needs Postgres"
)
def test_scale_benchmark_smoke_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for figure in ("(a) 1 daemon(s):", "(a) 2 daemon(s):", "(b) peak RSS MB", "(c) scheduler",
                   "(d) database statements", "0 not ok"):  # fmt: skip
        assert figure in result.stdout, result.stdout
