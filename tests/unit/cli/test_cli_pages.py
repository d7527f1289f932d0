"""``syncd accounts invite`` and ``syncd operator set-password``."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.support.cli import CliResult, account_id, run_cli

__all__ = ["account_id", "run_cli"]  # fixtures from tests/support/cli.py

Run = Callable[..., CliResult]


def test_invite_prints_a_one_time_link_under_the_pages_prefix(
    run_cli: Run, account_id: str
) -> None:
    status, output, error = run_cli("accounts", "invite", account_id)
    assert status == 0, error
    link = output.splitlines()[0]
    assert link.startswith("http://127.0.0.1:8080/my/invite/")
    assert "valid once, until" in output


def test_invite_json_names_the_link_and_the_application_s_sign_in_page(
    run_cli: Run, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_WEB__PUBLIC_BASE_URL", "https://cal.example.com")
    status, output, error = run_cli("accounts", "invite", account_id, "--json")
    assert status == 0, error
    data = json.loads(output)
    assert data["invite_url"].startswith("https://cal.example.com/my/invite/")
    assert data["sign_in_url"].startswith("https://cal.example.com/my/sign-in?app=app_")
    assert data["replaces_password"] is False


def test_invite_for_an_unknown_account_is_one_line_and_exit_2(
    run_cli: Run, account_id: str
) -> None:
    status, _, error = run_cli("accounts", "invite", "acc_nope")
    assert status == 2 and error.startswith("error:")


def test_operator_password_is_set_from_the_environment(
    run_cli: Run, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_OPERATOR_PASSWORD", "operator secret 123")
    status, output, error = run_cli("operator", "set-password")
    assert status == 0, error
    assert "/my/operator" in output


def test_a_short_operator_password_is_refused(
    run_cli: Run, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_OPERATOR_PASSWORD", "short")
    status, _, error = run_cli("operator", "set-password")
    assert status == 2 and "at least" in error
