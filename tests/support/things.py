"""A one-table database of "things" (an id and a name), for the bulk-statement tests
that need rowids and nothing of syncd's schema."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
from sqlmodel import Session

_things = MetaData()
THING = Table("thing", _things, Column("id", Integer, primary_key=True), Column("name", String))


def things_session() -> Iterator[Session]:
    """A session on a new in-memory SQLite database holding an empty ``thing`` table."""
    engine = create_engine("sqlite://")
    _things.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()
