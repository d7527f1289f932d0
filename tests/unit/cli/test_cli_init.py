"""`syncd init`: one config file with the key ring and one database, found by every
command from any folder without an export; read-only commands never create a database."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from syncd.config import find_config_path, load_settings
from syncd.errors import ConfigError
from tests.support.cli import CliResult, invoke_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in list(os.environ):
        if variable.startswith("SYNCD_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return tmp_path


@pytest.fixture
def run_cli(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    def run(*args: str) -> CliResult:
        return invoke_cli(monkeypatch, capsys, args)

    return run


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_a_private_key_ring_and_database_every_command_finds(
    run_cli: Callable[..., CliResult], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, output, error = run_cli("init")
    assert status == 0, error

    config = home / "config" / "syncd" / "syncd.toml"
    database = home / "data" / "syncd" / "syncd.db"
    assert mode(config) == 0o600 and mode(config.parent) == 0o700
    assert mode(database) == 0o600 and mode(database.parent) == 0o700
    written = tomllib.loads(config.read_text())
    assert len(written["secret_keys"]) == 1
    assert written["database_url"] == f"sqlite:///{database}"
    assert written["secret_keys"][0] not in output + error  # never printed
    assert str(config) in output and str(database) in output

    # from another folder, no export: the same config, the same database
    other = home / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    assert run_cli("apps", "create", "acme")[0] == 0
    status, sub, _ = run_cli("accounts", "create", "--app", "acme", "--email", "ada@example.com")
    assert status == 0
    status, output, _ = run_cli("accounts", "list", "--json")
    assert [row["sub"] for row in json.loads(output)] == [sub.strip()]
    assert not list(other.iterdir())  # nothing created in the current folder
    status, output, _ = run_cli("status", "--json")
    assert json.loads(output)["database"] == f"sqlite {database}"


def test_init_never_overwrites_the_key_ring(run_cli: Callable[..., CliResult], home: Path) -> None:
    assert run_cli("init")[0] == 0
    config = home / "config" / "syncd" / "syncd.toml"
    before = config.read_text()

    status, _, error = run_cli("init")

    assert status == 2
    assert error.count("\n") == 1 and "already exists" in error
    assert config.read_text() == before


def test_init_writes_where_config_points(run_cli: Callable[..., CliResult], home: Path) -> None:
    target = home / "etc" / "syncd.toml"
    status, _, error = run_cli("--config", str(target), "init", "--no-database")
    assert status == 0, error
    assert mode(target) == 0o600
    assert load_settings(target).secret_keys


def test_a_read_only_command_never_creates_a_database(
    run_cli: Callable[..., CliResult], home: Path
) -> None:
    for command in (["profiles", "list"], ["accounts", "list"], ["status"]):
        status, output, error = run_cli(*command)
        assert status == 2, command
        assert "no database at" in error and "syncd init" in error
        assert error.count("\n") == 1 and output == ""
    assert not (home / "data" / "syncd" / "syncd.db").exists()
    assert not list((home / "elsewhere").iterdir())


def test_the_user_config_is_found_before_the_system_one(home: Path) -> None:
    assert find_config_path() is None
    config = home / "config" / "syncd" / "syncd.toml"
    config.parent.mkdir(parents=True)
    config.write_text("")
    assert find_config_path() == config


def test_an_empty_key_variable_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_SECRET_KEYS", "")  # `export …=$(syncd keys generate)` that failed
    with pytest.raises(ConfigError, match="SYNCD_SECRET_KEYS is set but empty"):
        load_settings()


def test_a_malformed_key_is_refused_at_start(run_cli: Callable[..., CliResult], home: Path) -> None:
    config = home / "bad.toml"
    config.write_text('secret_keys = ["not-a-key"]\n')

    status, _, error = run_cli("--config", str(config), "run", "--no-api")

    assert status == 2
    assert "secret_keys" in error and "not a Fernet key" in error
    assert "not-a-key" not in error
