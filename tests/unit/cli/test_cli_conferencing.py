"""``syncd conferencing …`` and ``syncd work --once``, driven as an operator would."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select

from syncd import cli
from syncd.radicale_server import free_port
from syncd.store.db import make_engine, session_scope
from syncd.store.managed import upsert_managed_event
from syncd.store.models import Account, Calendar, ManagedEvent
from tests.emulators.zoom import ZoomEmulator
from tests.support.cli import CliResult, account_id, connect_caldav, run_cli
from tests.support.radicale import CalDAVAccount

__all__ = ["account_id", "run_cli"]  # fixtures from tests/support/cli.py


@pytest.fixture
def zoom(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoomEmulator]:
    with ZoomEmulator() as emulator:
        for key, value in {
            "CLIENT_ID": emulator.client_id,
            "CLIENT_SECRET": emulator.client_secret,
            "API_BASE_URL": emulator.api_base_url,
            "TOKEN_URL": emulator.token_url,
            "AUTHORIZE_URL": emulator.authorize_url,
            "REDIRECT_URI": f"http://127.0.0.1:{free_port()}/oauth/callback",
        }.items():
            monkeypatch.setenv(f"SYNCD_ZOOM__{key}", value)
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        yield emulator


def consenting_browser(emulator: ZoomEmulator, user: str) -> Callable[..., None]:
    """Stands in for the operator's browser: follows the printed URL back to the redirect."""
    original = cli.out.print

    def fake_print(*objects: Any, **kwargs: Any) -> None:
        text = str(objects[0]) if objects else ""
        if not text.startswith(emulator.authorize_url):
            original(*objects, **kwargs)
            return
        query = {k: v[0] for k, v in parse_qs(urlparse(text).query).items()}
        code = emulator.authorization_code(user)
        redirect = f"{query['redirect_uri']}?code={code}&state={query['state']}"
        threading.Thread(target=lambda: requests.get(redirect, timeout=10), daemon=True).start()

    return fake_print


def listed(run_cli: Callable[..., CliResult], *args: str) -> list[dict[str, Any]]:
    status, output, error = run_cli("conferencing", "list", "--json", *args)
    assert status == 0, error
    return list(json.loads(output))


def test_zoom_connects_through_the_browser_flow_and_becomes_the_default(
    run_cli: Callable[..., CliResult],
    account_id: str,
    zoom: ZoomEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli.out, "print", consenting_browser(zoom, "ada@example.com"))
    status, output, error = run_cli("conferencing", "connect", "zoom", "--account", account_id)
    assert status == 0, error
    profile_id = output.strip().splitlines()[-1]
    assert profile_id.startswith("pro_")
    (row,) = listed(run_cli, "--account", account_id)
    assert row["provider"] == "zoom" and row["status"] == "active" and row["default"] is True
    assert len(zoom.calls("POST", "/oauth/token")) == 1


def test_default_switches_between_profiles_and_8x8_and_remove_clears_it(
    run_cli: Callable[..., CliResult], account_id: str
) -> None:
    zoom_id = run_cli(
        "conferencing", "connect", "zoom", "--account", account_id, "--refresh-token", "rt-1"
    )[1].strip()
    goto_id = run_cli(
        "conferencing", "connect", "goto", "--account", account_id, "--refresh-token", "rt-2"
    )[1].strip()
    assert [r["default"] for r in listed(run_cli)] == [True, False]

    assert run_cli("conferencing", "default", account_id, goto_id)[0] == 0
    assert {r["profile_id"]: r["default"] for r in listed(run_cli)} == {
        zoom_id: False,
        goto_id: True,
    }
    assert run_cli("conferencing", "remove", goto_id)[0] == 0
    assert [(r["profile_id"], r["default"]) for r in listed(run_cli)] == [(zoom_id, False)]
    assert run_cli("conferencing", "default", account_id, zoom_id)[0] == 0
    assert run_cli("conferencing", "default", account_id, "8x8")[0] == 0
    assert listed(run_cli)[0]["default"] is False
    assert "rt-1" not in run_cli("conferencing", "list", "--json")[1]


def test_bad_conferencing_commands_give_an_error_line_and_status_2(
    run_cli: Callable[..., CliResult], account_id: str
) -> None:
    for args in (
        ("conferencing", "connect", "webex", "--account", account_id, "--refresh-token", "x"),
        ("conferencing", "connect", "zoom", "--account", account_id),  # no OAuth client
        ("conferencing", "default", account_id, "pro_missing"),
        ("conferencing", "remove", "pro_missing"),
        ("conferencing", "list", "--account", "acc_missing"),
    ):
        status, _, error = run_cli(*args)
        assert status == 2, args
        assert error.startswith("error:") and "Traceback" not in error


def test_work_once_writes_due_managed_events_with_conferencing(
    run_cli: Callable[..., CliResult], account_id: str, caldav_account: CalDAVAccount
) -> None:
    connect_caldav(run_cli, account_id, caldav_account)
    assert run_cli("sync", "--once", "--json")[0] == 0
    engine = make_engine(os.environ["SYNCD_DATABASE_URL"])
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)
    with session_scope(engine) as session:
        calendar = session.execute(select(Calendar)).scalars().first()
        assert calendar is not None
        application_id = session.get(Account, account_id).application_id  # type: ignore[union-attr]
        upsert_managed_event(
            session,
            application_id,
            account_id,
            calendar.id,
            "review",
            {
                "summary": "Review",
                "description": "",
                "start": start.isoformat(),
                "end": (start + dt.timedelta(hours=1)).isoformat(),
                "all_day": False,
                "tzid": "Etc/UTC",
                "location": "",
                "transparency": "opaque",
                "conferencing": {"profile_id": "default"},
                "subscriptions": [],
            },
        )
    status, output, error = run_cli("work", "--once")
    assert status == 0, error
    assert "processed 1" in output
    with session_scope(engine) as session:
        row = session.execute(select(ManagedEvent)).scalar_one()
        assert row.state == "written"
        assert row.conferencing and row.conferencing["join_url"].startswith("https://8x8.vc/")
    engine.dispose()
