"""--help reads well, and the small things of issue 14 item 8."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer

from syncd import cli
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import head_revisions, make_engine, session_scope
from syncd.store.models import Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from tests.support.cli import CliResult, invoke_cli


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    monkeypatch.setenv("SYNCD_DATABASE_URL", f"sqlite:///{tmp_path / 'syncd.db'}")
    monkeypatch.setenv("SYNCD_SECRET_KEYS", generate_key())
    monkeypatch.setenv("COLUMNS", "80")

    def run(*args: str) -> CliResult:
        return invoke_cli(monkeypatch, capsys, args)

    return run


def command_paths() -> Iterator[list[str]]:
    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        if hasattr(command, "commands"):  # a group
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(cli.app), [])


def test_version(run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("--version") == (0, f"syncd {version('syncd')}\n", "")


@pytest.mark.parametrize("path", list(command_paths()), ids=lambda p: " ".join(p) or "syncd")
def test_help_has_no_markup_and_every_option_says_what_it_is(
    run_cli: Callable[..., CliResult], path: list[str]
) -> None:
    status, output, _ = run_cli(*path, "--help")
    assert status == 0
    assert "``" not in output and "<bool>" not in output
    assert max(len(line) for line in output.splitlines()) <= 80
    for line in output.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") and len(stripped.split()) <= 2:  # an option, no help
            assert stripped.split()[0] in {"--help"}, (path, line)


def test_password_is_prompted_not_required_and_sync_has_no_meaningless_once(
    run_cli: Callable[..., CliResult],
) -> None:
    _, output, _ = run_cli("profiles", "connect", "caldav", "--help")
    options = output[output.index("--username") :]
    password = options[options.index("--password") : options.index("--no-verify")]
    assert "[required]" not in password and "asked for (hidden)" in password
    _, output, _ = run_cli("sync", "--help")
    assert "--once" not in output and "--profile" in output
    assert run_cli("sync", "--once", "--json")[0] == 0  # still accepted


def test_migrate_says_from_what_to_what(run_cli: Callable[..., CliResult]) -> None:
    status, output, _ = run_cli("migrate")
    head = ", ".join(head_revisions(make_engine("sqlite://")))
    assert status == 0
    assert f"upgraded from an empty database to {head}" in output
    status, output, _ = run_cli("migrate")
    assert f"schema is current at revision {head}" in output


def test_keys_rotate_with_a_new_key_reminds_to_configure_it(
    run_cli: Callable[..., CliResult],
) -> None:
    assert run_cli("migrate")[0] == 0
    status, _, error = run_cli("keys", "rotate", "--new-key", generate_key())
    assert status == 0
    assert "add the new key first in secret_keys" in error


def test_sync_of_a_profile_a_daemon_holds_names_the_daemon(
    run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv("SYNCD_SECRET_KEYS", key)
    assert run_cli("migrate")[0] == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'syncd.db'}")
    box = SecretBox([key])
    with session_scope(engine) as session:
        application = create_application(session, box, "acme").application
        account = create_account(session, application.id, "ada@example.com")
        profile = create_profile(session, box, account, "caldav", "ada", {"url": "http://x/"})
        profile.lease_owner = "wrk_daemon1"
        profile.lease_expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        session.add(profile)
        profile_id = profile.id

    status, output, _ = run_cli("sync", "--profile", profile_id, "--json")

    assert status == 0
    [row] = json.loads(output)
    assert row["outcome"] == "skipped" and "daemon wrk_daemon1 is syncing it" in row["detail"]
    status, output, _ = run_cli("status", "--json")
    alive = json.loads(output)["daemons_alive"]
    assert [(d["worker"], d["leased_profiles"]) for d in alive] == [("wrk_daemon1", 1)]
    with session_scope(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None and stored.lease_owner == "wrk_daemon1"  # untouched
    engine.dispose()
