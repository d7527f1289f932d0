"""On SQLite the lean INSERT sends many rows per statement (``syncd.store.bulk``): the
rows arrive whole and in order, in few statements whose sizes repeat, within the
database's limit of variables per statement."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from syncd.store.bulk import MULTI_ROW_INSERT, bulk_insert, statement_sizes
from tests.support.things import THING

pytestmark = pytest.mark.store


def _names(count: int) -> list[tuple[str]]:
    return [(f"thing {index}",) for index in range(count)]


def _stored(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(text("SELECT id, name FROM thing ORDER BY id"))
    return [(row.id, row.name) for row in rows]


def _statements(session: Session) -> list[tuple[int, bool]]:
    """(parameters, executemany?) of every INSERT the session's engine runs from now."""
    seen: list[tuple[int, bool]] = []

    def record(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool) -> None:
        if sql.startswith("INSERT"):
            seen.append((len(parameters), many))

    event.listen(session.get_bind(), "before_cursor_execute", record)
    return seen


def _set_variable_limit(session: Session, limit: int) -> None:
    driver = session.connection().connection.driver_connection
    driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)  # type: ignore[union-attr]


def test_statement_sizes_are_full_statements_then_the_rest_in_powers_of_two() -> None:
    assert statement_sizes(1000, 256) == [256, 256, 256, 128, 64, 32, 8]
    assert statement_sizes(256, 256) == [256]
    assert statement_sizes(3, 256) == [2, 1]
    assert statement_sizes(0, 256) == []


def test_statement_sizes_of_any_count_add_up_and_repeat_few_texts() -> None:
    for count in range(1, 1200):
        sizes = statement_sizes(count, 256)
        assert sum(sizes) == count
        assert len(set(sizes)) <= 9  # 256 and the powers of two below it


def test_many_rows_are_stored_whole_and_in_order(things: Session) -> None:
    names = _names(1000)
    bulk_insert(things, THING, ("name",)).execute(things, names)
    assert _stored(things) == [(index + 1, name) for index, (name,) in enumerate(names)]


def test_many_rows_take_one_statement_per_size_not_one_per_row(things: Session) -> None:
    seen = _statements(things)
    bulk_insert(things, THING, ("name",)).execute(things, _names(1000))
    assert seen == [(size, False) for size in statement_sizes(1000, MULTI_ROW_INSERT)]


def test_the_new_ids_of_many_rows_are_known_without_reading_them_back(things: Session) -> None:
    names = _names(700)
    ids = bulk_insert(things, THING, ("name",)).insert_with_ids(things, names)
    assert ids is not None
    assert list(zip(ids, (name for (name,) in names), strict=True)) == _stored(things)


def test_a_lower_variable_limit_makes_smaller_statements(things: Session) -> None:
    _set_variable_limit(things, 9)  # room for 4 rows of 2 variables
    seen = _statements(things)
    statement = bulk_insert(things, THING, ("id", "name"))
    statement.execute(things, [(index + 1, name) for index, (name,) in enumerate(_names(11))])
    assert [parameters for parameters, _ in seen] == [8, 8, 4, 2]  # 4 + 4 + 2 + 1 rows
    assert len(_stored(things)) == 11


def test_a_limit_below_two_rows_falls_back_to_executemany(things: Session) -> None:
    _set_variable_limit(things, 3)
    seen = _statements(things)
    statement = bulk_insert(things, THING, ("id", "name"))
    statement.execute(things, [(index + 1, name) for index, (name,) in enumerate(_names(5))])
    assert seen == [(5, True)]
    assert len(_stored(things)) == 5
