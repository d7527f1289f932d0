"""``syncd.store.advisory``: one holder per purpose in a syncd database (its schema), never
one holder per Postgres database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from syncd.store.advisory import PUSH_MAINTENANCE, exclusively
from syncd.store.db import make_engine
from tests.support.store import POSTGRES_URL, fresh_postgres_schema

OTHER_PURPOSE = 0x74657374


@pytest.fixture
def second_session(database_url: str) -> Iterator[Engine]:
    """Another engine on the same database and schema: another daemon's sessions."""
    other = make_engine(database_url)
    yield other
    other.dispose()


@pytest.fixture
def other_schema() -> Iterator[Engine]:
    """An engine on another schema of the same Postgres database."""
    if not POSTGRES_URL:
        pytest.skip("SYNCD_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema(POSTGRES_URL) as url:
        other = make_engine(url)
        yield other
        other.dispose()


def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are Postgres's; SQLite has one daemon")


def taken_together(first: tuple[Engine, int], second: tuple[Engine, int]) -> tuple[bool, bool]:
    """Whether each of two sessions got its lock while the other held (or tried) its own."""
    with exclusively(*first) as got_first, exclusively(*second) as got_second:
        return got_first, got_second


def test_sqlite_always_grants_the_lock(sqlite_engine: Engine) -> None:
    lock = (sqlite_engine, PUSH_MAINTENANCE)
    assert taken_together(lock, lock) == (True, True)


def test_a_second_session_on_the_same_schema_is_refused_while_the_lock_is_held(
    engine: Engine, second_session: Engine
) -> None:
    postgres_only(engine)
    theirs = (second_session, PUSH_MAINTENANCE)
    assert taken_together((engine, PUSH_MAINTENANCE), theirs) == (True, False)


def test_the_lock_is_free_again_once_its_block_ends(engine: Engine, second_session: Engine) -> None:
    postgres_only(engine)
    with exclusively(engine, PUSH_MAINTENANCE) as mine:
        assert mine
    with exclusively(second_session, PUSH_MAINTENANCE) as theirs:
        assert theirs


def test_another_purpose_is_not_held_off(engine: Engine, second_session: Engine) -> None:
    postgres_only(engine)
    theirs = (second_session, OTHER_PURPOSE)
    assert taken_together((engine, PUSH_MAINTENANCE), theirs) == (True, True)


def test_a_syncd_database_in_another_schema_is_not_held_off(
    engine: Engine, other_schema: Engine
) -> None:
    postgres_only(engine)
    theirs = (other_schema, PUSH_MAINTENANCE)
    assert taken_together((engine, PUSH_MAINTENANCE), theirs) == (True, True)
