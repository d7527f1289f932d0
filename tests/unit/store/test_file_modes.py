"""The SQLite database and its -wal/-shm files are readable by the owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from syncd.store.db import make_engine, upgrade_schema


@pytest.fixture(params=[0o022, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_wal_and_shm_are_created_0600(tmp_path: Path, umask: int) -> None:
    database = tmp_path / "syncd.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        upgrade_schema(engine)
        with engine.connect() as connection:  # keeps the -wal and -shm files open
            connection.execute(text("SELECT 1"))
            for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                assert path.exists(), path
                assert _mode(path) == 0o600, (path, oct(_mode(path)))
    finally:
        engine.dispose()


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    database.touch()
    database.chmod(0o644)
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert _mode(database) == 0o600
    finally:
        engine.dispose()
