"""The admin CLI, driven as an operator would: real Radicale, real Google OAuth flow (emulated)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from syncd import cli
from syncd.radicale_server import free_port, sample_event_ics
from tests.emulators.google import GoogleCalendarEmulator
from tests.support.cli import CliResult, account_id, connect_caldav, run_cli
from tests.support.radicale import CalDAVAccount

__all__ = ["account_id", "run_cli"]  # fixtures from tests/support/cli.py


def test_apps_create_prints_the_api_key_once(run_cli: Callable[..., CliResult]) -> None:
    status, output, error = run_cli("apps", "create", "acme")
    assert status == 0, error
    assert "sk_" in output and "app_" in output


def test_accounts_create_prints_the_sub_and_list_shows_it(
    run_cli: Callable[..., CliResult], account_id: str
) -> None:
    assert account_id.startswith("acc_")
    status, output, _ = run_cli("accounts", "list", "--json")
    assert status == 0
    assert [row["sub"] for row in json.loads(output)] == [account_id]


def test_caldav_profile_connects_syncs_and_lists_as_active(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    caldav_account.server.put_event(
        caldav_account.calendar_url,
        "e1",
        sample_event_ics("e1", "Meeting", *_one_hour_tomorrow()),
    )
    profile_id = connect_caldav(run_cli, account_id, caldav_account)
    status, output, error = run_cli("sync", "--once", "--json")
    assert status == 0, error
    assert json.loads(output)[0]["changes"] == 1
    status, output, _ = run_cli("profiles", "list", "--json")
    rows = json.loads(output)
    assert [(r["profile_id"], r["sync_status"]) for r in rows] == [(profile_id, "active")]


def test_json_listings_never_contain_credentials(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    connect_caldav(run_cli, account_id, caldav_account)
    for listing in (("profiles", "list", "--json"), ("accounts", "list", "--json")):
        _, output, _ = run_cli(*listing)
        assert caldav_account.credentials["password"] not in output
        assert "credentials" not in output


def test_unknown_ids_give_one_line_and_status_2(run_cli: Callable[..., CliResult]) -> None:
    for args in (
        ("profiles", "remove", "pro_missing"),
        ("profiles", "reauthorize", "pro_missing"),
        ("accounts", "token", "acc_missing"),
        ("accounts", "create", "--app", "missing", "--email", "x@example.com"),
        ("sync", "--once", "--profile", "pro_missing"),
    ):
        status, _, error = run_cli(*args)
        assert status == 2, args
        assert error.strip().count("\n") == 0 and error.startswith("error:"), error


def test_credentials_an_adapter_refuses_give_one_line_and_status_2(
    run_cli: Callable[..., CliResult], account_id: str
) -> None:
    status, _, error = run_cli(
        "profiles", "connect", "caldav", "--account", account_id, "--url", "",
        "--username", "ada", "--password", "secret",
    )  # fmt: skip
    assert (status, error) == (2, "error: CalDAV credentials need a 'url'\n")


def test_bad_arguments_exit_with_status_2(run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("accounts", "create", "--app")[0] == 2
    assert run_cli("profiles", "connect", "nowhere")[0] == 2


def test_removed_profile_is_gone(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    profile_id = connect_caldav(run_cli, account_id, caldav_account)
    assert run_cli("profiles", "remove", profile_id)[0] == 0
    assert json.loads(run_cli("profiles", "list", "--json")[1]) == []


def test_google_profile_connects_through_the_oauth_redirect_and_reauthorizes(
    run_cli: Callable[..., CliResult],
    account_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with GoogleCalendarEmulator() as emulator:
        emulator.add_calendar("ada@example.com", user="ada@example.com", primary=True)
        for key, value in {
            "CLIENT_ID": emulator.client_id,
            "CLIENT_SECRET": emulator.client_secret,
            "API_BASE_URL": emulator.base_url,
            "TOKEN_URL": emulator.token_url,
            "AUTHORIZE_URL": emulator.authorize_url,
            "REDIRECT_URI": f"http://127.0.0.1:{free_port()}/oauth/callback",
        }.items():
            monkeypatch.setenv(f"SYNCD_GOOGLE__{key}", value)
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        monkeypatch.setattr(cli.out, "print", _browser_that_consents(emulator, "ada@example.com"))

        status, output, error = run_cli("profiles", "connect", "google", "--account", account_id)
        assert status == 0, error
        profile_id = output.strip().splitlines()[-1]
        assert run_cli("sync", "--once", "--json")[0] == 0

        emulator.revoke_user("ada@example.com")
        run_cli("sync", "--once", "--json")
        rows = json.loads(run_cli("profiles", "list", "--json")[1])
        assert rows[0]["sync_status"] == "disconnected"

        status, _, error = run_cli("profiles", "reauthorize", profile_id)
        assert status == 0, error
        assert json.loads(run_cli("profiles", "list", "--json")[1])[0]["sync_status"] == "pending"
        assert run_cli("sync", "--once", "--json")[0] == 0
        assert json.loads(run_cli("profiles", "list", "--json")[1])[0]["sync_status"] == "active"


def _browser_that_consents(emulator: GoogleCalendarEmulator, user: str) -> Callable[..., None]:
    """Stands in for the operator's browser: follows the printed URL back to the redirect."""
    original = cli.out.print

    def fake_print(*objects: Any, **kwargs: Any) -> None:
        text = str(objects[0]) if objects else ""
        if text.startswith(emulator.authorize_url):
            query = {k: v[0] for k, v in parse_qs(urlparse(text).query).items()}
            code = emulator.authorization_code(user)

            def visit() -> None:
                requests.get(
                    f"{query['redirect_uri']}?code={code}&state={query['state']}", timeout=10
                )

            threading.Thread(target=visit, daemon=True).start()
            return
        original(*objects, **kwargs)

    return fake_print


def _one_hour_tomorrow() -> tuple[Any, Any]:

    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(10), dt.UTC)
    return start, start + dt.timedelta(hours=1)
