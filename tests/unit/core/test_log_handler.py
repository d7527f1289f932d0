"""Where log records go: the standard error stream of the moment, never a closed one."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from syncd.logs import configure_logging


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_records_go_to_the_stderr_of_the_moment_not_the_one_at_configuration(
    monkeypatch: pytest.MonkeyPatch, restored_root_logger: None
) -> None:
    at_configuration, later = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", at_configuration)
    configure_logging("INFO", json_lines=False)
    at_configuration.close()  # as a test runner closes the stream it captured with
    monkeypatch.setattr("sys.stderr", later)

    logging.getLogger("syncd.test").warning("still logged")

    assert "WARNING syncd.test: still logged" in later.getvalue()
    assert "Logging error" not in later.getvalue()
