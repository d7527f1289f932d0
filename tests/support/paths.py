"""Where things are: the repository root, counted once, for tests that read files or run
``python -m …`` from it."""

from __future__ import annotations

from pathlib import Path

#: The repository checkout (``tests/support/paths.py`` → two folders up).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Recorded HTTP for the adapters' cassette tests, one folder per provider.
CASSETTES_DIR = REPO_ROOT / "tests" / "cassettes"
