"""`syncd profiles connect caldav`: the password never has to be on the command line."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from syncd.store.crypto import generate_key
from tests.support.cli import CliResult, invoke_cli
from tests.support.radicale import CalDAVAccount


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    monkeypatch.setenv("SYNCD_DATABASE_URL", f"sqlite:///{tmp_path / 'syncd.db'}")
    monkeypatch.setenv("SYNCD_SECRET_KEYS", generate_key())
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, stdin: str = "") -> CliResult:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return invoke_cli(monkeypatch, capsys, args)

    return run


@pytest.fixture
def account_id(run_cli: Callable[..., CliResult]) -> str:
    assert run_cli("apps", "create", "acme")[0] == 0
    status, output, _ = run_cli("accounts", "create", "--app", "acme", "--email", "a@example.com")
    assert status == 0
    return output.strip()


def _connect(run_cli: Callable[..., CliResult], account: str, caldav: CalDAVAccount,
             *extra: str, stdin: str = "") -> CliResult:  # fmt: skip
    creds = caldav.credentials
    return run_cli(
        "profiles", "connect", "caldav", "--account", account, "--url", creds["url"],
        "--username", creds["username"], *extra, stdin=stdin,
    )  # fmt: skip


def test_help_does_not_mark_password_required_and_offers_stdin(
    run_cli: Callable[..., CliResult],
) -> None:
    status, output, _ = run_cli("profiles", "connect", "caldav", "--help")
    assert status == 0
    password_lines = [line for line in output.splitlines() if "--password " in line]
    assert password_lines and not any("required" in line.lower() for line in password_lines)
    assert "--password-stdin" in output
    assert "SYNCD_CALDAV_PASSWORD" in output


def test_password_stdin_connects(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    status, output, error = _connect(
        run_cli,
        account_id,
        caldav_account,
        "--password-stdin",
        stdin=caldav_account.credentials["password"] + "\n",
    )
    assert status == 0, error
    assert output.strip().startswith("pro_")


def test_password_from_the_environment_connects(
    run_cli: Callable[..., CliResult],
    account_id: str,
    caldav_account: CalDAVAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCD_CALDAV_PASSWORD", caldav_account.credentials["password"])
    status, output, error = _connect(run_cli, account_id, caldav_account)
    assert status == 0, error
    assert output.strip().startswith("pro_")


def test_password_stdin_empty_is_one_line_error(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    status, _, error = _connect(run_cli, account_id, caldav_account, "--password-stdin")
    assert status == 2
    assert "stdin" in error
