"""Terminal output: ids never fold, sync progress counts pages and events, logs stay
above the bar."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from syncd.cli import daemon, output
from syncd.radicale_server import sample_event_ics
from syncd.store.crypto import generate_key
from tests.support.cli import CliResult, invoke_cli
from tests.support.radicale import CalDAVAccount

IDS = ["pro_3kq9c2m1x8v7b6n5z4a0s9d8", "acc_7h6g5f4d3s2a1q0w9e8r7t6y", "ada.lovelace@example.com"]


def render(width: int, rows: list[list[str]]) -> str:
    console = Console(width=width, file=io.StringIO(), soft_wrap=True)
    columns = ["profile_id", "account_id", "profile_name", "reason"]
    original = output.out
    output.out = console
    try:
        output.table("profiles", columns, rows)
    finally:
        output.out = original
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_ids_and_emails_never_fold_at_any_width(width: int) -> None:
    rows = [[*IDS, "first sync not complete yet; last attempt failed: connection refused"]]
    text = render(width, rows)
    for value in IDS:
        assert value in text, (width, text)
    assert max(len(line) for line in text.splitlines()) <= width


def test_a_wide_terminal_gets_a_table_a_narrow_one_a_block_per_row() -> None:
    rows = [[*IDS, "synced"]]
    assert "┃ profile_id" in render(160, rows)
    narrow = render(60, rows)
    assert "┃" not in narrow
    assert re.search(r"^profile_id\s+pro_3kq9c2m1x8v7b6n5z4a0s9d8$", narrow, re.MULTILINE)


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    monkeypatch.setenv("SYNCD_DATABASE_URL", f"sqlite:///{tmp_path / 'syncd.db'}")
    monkeypatch.setenv("SYNCD_SECRET_KEYS", generate_key())

    def run(*args: str) -> CliResult:
        return invoke_cli(monkeypatch, capsys, args)

    return run


def test_sync_progress_counts_pages_and_events_and_logs_print_above_it(
    run_cli: Callable[..., CliResult],
    caldav_account: CalDAVAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    for index in range(3):
        uid = f"e{index}"
        caldav_account.server.put_event(
            caldav_account.calendar_url,
            uid,
            sample_event_ics(uid, "Meeting", start, start + dt.timedelta(hours=1)),
        )
    assert run_cli("apps", "create", "acme")[0] == 0
    _, account_id, _ = run_cli("accounts", "create", "--app", "acme", "--email", "a@example.com")
    creds = caldav_account.credentials
    status, _, error = run_cli(
        "profiles", "connect", "caldav", "--account", account_id.strip(), "--url", creds["url"],
        "--username", creds["username"], "--password", creds["password"],
    )  # fmt: skip
    assert status == 0, error
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120, soft_wrap=True)
    monkeypatch.setattr(daemon, "out", terminal)

    status, _, error = run_cli("sync", "--once")

    assert status == 0, error
    shown = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"[1-9]\d* pages, 3 events", shown), shown
    # the engine's INFO line went through the live display, not around it
    assert "synced profile" in shown
    assert "synced profile" not in error
