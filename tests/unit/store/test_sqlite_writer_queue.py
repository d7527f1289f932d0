"""SQLite writers of one process take turns on a lock of the engine's, so a writer behind
another starts when that one commits or rolls back, not after SQLite's busy-handler
sleeps. Readers never wait for it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from syncd.store.db import make_engine, read_only


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (who TEXT)"))
    return engine


def _second_writer(engine: Engine, order: list[str]) -> threading.Thread:
    def write() -> None:
        with engine.begin() as connection:
            order.append("second began")
            connection.execute(text("INSERT INTO log VALUES ('second')"))

    return threading.Thread(target=write)


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_a_waiting_writer_starts_when_the_first_ends(sqlite_engine: Engine, ending: str) -> None:
    order: list[str] = []
    connection = sqlite_engine.connect()
    transaction = connection.begin()
    connection.execute(text("INSERT INTO log VALUES ('first')"))
    second = _second_writer(sqlite_engine, order)
    second.start()
    second.join(0.3)
    assert second.is_alive() and order == []  # waiting for its turn
    order.append(f"first {ending}")
    getattr(transaction, ending)()
    connection.close()
    second.join(10)
    assert order == [f"first {ending}", "second began"]
    with sqlite_engine.connect() as check:
        rows = [row.who for row in check.execute(text("SELECT who FROM log"))]
    assert rows == (["first", "second"] if ending == "commit" else ["second"])


def test_a_reader_does_not_wait_for_a_writer(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as writer:
        writer.execute(text("INSERT INTO log VALUES ('first')"))
        seen: list[int] = []
        reader = threading.Thread(
            target=lambda: seen.append(
                read_only(sqlite_engine)
                .connect()
                .execute(text("SELECT count(*) FROM log"))
                .scalar_one()
            )
        )
        reader.start()
        reader.join(10)
        assert seen == [0]  # answered while the write transaction is open
