"""Running a benchmark at smoke size and checking its figure lines, for tests/bench/."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.paths import REPO_ROOT

COMMON_FIGURES = [
    r"^FLOOR .*: median \d+\.\d+ s",
    r"^SYNCD full sync .*: median \d+\.\d+ s",
    r"^RATIO syncd full / floor: \d+\.\d+ \(median\)",
    r"^SYNCD no-change incremental sync: median \d+\.\d+ s",
    r"^INCREMENTAL requests per calendar: 1 ",
]


def run_benchmark(module: str, timeout: float = 240) -> str:
    """Run ``python -m <module> --smoke`` from the repository root; return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-m", module, "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    return completed.stdout


def assert_figures(output: str, patterns: list[str]) -> None:
    for pattern in patterns:
        assert re.search(pattern, output, re.MULTILINE), f"missing {pattern!r} in:\n{output}"
