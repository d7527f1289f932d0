"""Driving the admin CLI in-process, as ``tests/unit/cli/`` does: ``run_cli`` and the
``account_id`` it creates are pytest fixtures; import them into the test module that uses
them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from syncd import cli
from syncd.store.crypto import generate_key
from tests.support.radicale import CalDAVAccount

CliResult = tuple[int, str, str]


def invoke_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> CliResult:
    """``syncd ARGS`` in-process → (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["syncd", *args])
    capsys.readouterr()
    try:
        cli.main()
        status = 0
    except SystemExit as done:
        status = int(done.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """``run_cli("accounts", "list")`` → (exit status, stdout, stderr), in-process."""
    monkeypatch.setenv("SYNCD_DATABASE_URL", f"sqlite:///{tmp_path / 'syncd.db'}")
    monkeypatch.setenv("SYNCD_SECRET_KEYS", generate_key())

    def run(*args: str) -> CliResult:
        return invoke_cli(monkeypatch, capsys, args)

    return run


@pytest.fixture
def account_id(run_cli: Callable[..., CliResult]) -> str:
    assert run_cli("apps", "create", "acme")[0] == 0
    status, output, _ = run_cli("accounts", "create", "--app", "acme", "--email", "ada@example.com")
    assert status == 0
    return output.strip()


def connect_caldav(
    run_cli: Callable[..., CliResult], account_id: str, caldav: CalDAVAccount
) -> str:
    creds = caldav.credentials
    status, output, error = run_cli(
        "profiles", "connect", "caldav", "--account", account_id, "--url", creds["url"],
        "--username", creds["username"], "--password", creds["password"],
    )  # fmt: skip
    assert status == 0, error
    return output.strip()
