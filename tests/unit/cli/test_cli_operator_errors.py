"""Operator mistakes are one line naming the thing, exit 2: never a traceback."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncd.radicale_server import free_port
from syncd.store.crypto import generate_key
from tests.support.cli import CliResult, invoke_cli


@pytest.fixture
def run_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    monkeypatch.setenv("SYNCD_SECRET_KEYS", generate_key())

    def run(*args: str, database_url: str | None = None) -> CliResult:
        monkeypatch.setenv("SYNCD_DATABASE_URL", database_url or f"sqlite:///{tmp_path / 'd.db'}")
        return invoke_cli(monkeypatch, capsys, args)

    return run


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def one_line(error: str) -> bool:
    return error.count("\n") == 1 and "Traceback" not in error


def test_an_unwritable_database_path_names_the_path(
    run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    locked = tmp_path / "a-file"  # a folder nobody can create, root included
    locked.write_text("")
    status, _, error = run_cli("apps", "create", "acme", database_url=f"sqlite:///{locked}/x.db")
    assert status == 2
    assert one_line(error) and f"{locked}/x.db" in error


def test_an_unreachable_postgres_names_the_host_without_the_password(
    run_cli: Callable[..., CliResult],
) -> None:
    port = free_port()  # nothing listens there: connection refused at once
    url = f"postgresql+psycopg://syncd:hunter2@127.0.0.1:{port}/syncd?connect_timeout=2"
    status, _, error = run_cli("apps", "create", "acme", database_url=url)
    assert status == 2
    assert one_line(error) and f"127.0.0.1:{port}/syncd" in error
    assert "hunter2" not in error


def test_a_port_in_use_names_the_port(run_cli: Callable[..., CliResult], taken_port: int) -> None:
    status, _, error = run_cli("serve", "--port", str(taken_port))
    assert status == 2
    assert error.startswith("syncd database: sqlite ")  # what it was about to serve
    error = error.split("\n", 1)[1]
    assert one_line(error) and f"127.0.0.1:{taken_port}" in error and "--port" in error


def test_the_demo_names_a_taken_port_and_removes_its_folder(
    run_cli: Callable[..., CliResult],
    taken_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)
    status, _, error = run_cli("demo", "--caldav-port", str(taken_port), "--duration", "1")
    assert status == 2
    assert one_line(error) and f"127.0.0.1:{taken_port}" in error and "--caldav-port" in error
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_database_newer_than_the_code_names_the_revisions(
    run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert run_cli("migrate")[0] == 0
    with sqlite3.connect(tmp_path / "d.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed1234'")
    status, _, error = run_cli("migrate")
    assert status == 2
    assert one_line(error) and "f00dfeed1234" in error and "newer than this syncd" in error
