"""`profiles connect caldav` asks the server for the calendars before saving anything."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from syncd.radicale_server import RadicaleServer, free_port
from syncd.store.crypto import generate_key
from tests.support.cli import CliResult, invoke_cli
from tests.support.radicale import HTPASSWD_PASSWORD, HTPASSWD_USER, CalDAVAccount


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
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


@pytest.fixture
def plain_web_server() -> Iterator[str]:
    """A web server that knows GET only: PROPFIND gets Python's 501 Unsupported method."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def connect(run_cli: Callable[..., CliResult], account_id: str, url: str, *extra: str) -> CliResult:
    return run_cli(
        "profiles", "connect", "caldav", "--account", account_id, "--url", url, *extra,
    )  # fmt: skip


def profiles(run_cli: Callable[..., CliResult]) -> list[dict[str, object]]:
    status, output, error = run_cli("profiles", "list", "--json")
    assert status == 0, error
    rows: list[dict[str, object]] = json.loads(output)
    return rows


def test_the_right_password_saves_the_profile_and_prints_its_calendars(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    creds = caldav_account.credentials
    status, output, error = connect(
        run_cli, account_id, creds["url"], "--username", creds["username"],
        "--password", creds["password"],
    )  # fmt: skip
    assert status == 0, error
    assert output.strip().startswith("pro_")
    assert "1 calendar(s): Work" in error
    [row] = profiles(run_cli)
    assert row["server"] == "127.0.0.1"


def test_a_wrong_password_is_one_line_and_saves_nothing(
    run_cli: Callable[..., CliResult], account_id: str, radicale_htpasswd_server: RadicaleServer
) -> None:
    status, output, error = connect(
        run_cli, account_id, radicale_htpasswd_server.url + "/", "--username", HTPASSWD_USER,
        "--password", HTPASSWD_PASSWORD + "-wrong",
    )  # fmt: skip
    assert status == 2
    assert error.count("\n") == 1 and "refused the username or password" in error
    assert HTPASSWD_PASSWORD not in error and output == ""
    assert profiles(run_cli) == []


def test_an_unreachable_server_is_one_line_and_saves_nothing(
    run_cli: Callable[..., CliResult], account_id: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    status, _, error = connect(run_cli, account_id, url, "--username", "u", "--password", "p")
    assert status == 2
    assert error.count("\n") == 1 and f"cannot reach {url}" in error
    assert profiles(run_cli) == []


def test_a_plain_web_server_is_not_caldav(
    run_cli: Callable[..., CliResult], account_id: str, plain_web_server: str
) -> None:
    status, _, error = connect(
        run_cli, account_id, plain_web_server, "--username", "u", "--password", "p"
    )
    assert status == 2
    assert error.count("\n") == 1
    assert "is not a usable caldav server" in error and "501" in error
    assert profiles(run_cli) == []


def test_no_verify_saves_offline_and_a_501_server_disconnects_instead_of_retrying(
    run_cli: Callable[..., CliResult], account_id: str, plain_web_server: str
) -> None:
    status, output, error = connect(
        run_cli, account_id, plain_web_server, "--username", "u", "--password", "p", "--no-verify"
    )
    assert status == 0, error
    profile_id = output.strip()

    status, output, _ = run_cli("sync", "--json")

    assert status == 1
    assert json.loads(output)[0]["outcome"] == "unsupported"
    [row] = profiles(run_cli)
    assert row["profile_id"] == profile_id
    assert row["sync_status"] == "disconnected"
    assert "501" in str(row["reason"]) and "not a CalDAV server" in str(row["reason"])
