"""A page's inserted rows are not read back when the database makes their ids certain
(SQLite's rowids following the largest), and every span still points at its own item,
on both databases and when SQLite's ids are not certain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from providers.base import RemoteEvent
from syncd.store.bulk import bulk_insert
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Event
from tests.support.pages import FIRST, HOUR, apply_pages, daily_master, moved_second_instance
from tests.support.things import THING

pytestmark = pytest.mark.store

LARGEST_ROWID = 2**63 - 1


def _names_by_id(session: Session) -> list[tuple[int, str]]:
    return [(row.id, row.name) for row in session.execute(text("SELECT id, name FROM thing"))]


def test_sqlite_gives_the_inserted_rows_ids_in_row_order(things: Session) -> None:
    things.execute(text("INSERT INTO thing (id, name) VALUES (41, 'older')"))
    ids = bulk_insert(things, THING, ("name",)).insert_with_ids(things, [("a",), ("b",), ("c",)])
    assert ids is not None
    assert list(zip(ids, "abc", strict=True)) == _names_by_id(things)[1:]


def test_no_ids_are_claimed_where_sqlite_may_pick_them_at_random(things: Session) -> None:
    things.execute(text(f"INSERT INTO thing (id, name) VALUES ({LARGEST_ROWID}, 'last')"))
    ids = bulk_insert(things, THING, ("name",)).insert_with_ids(things, [("a",), ("b",)])
    assert ids is None
    assert sorted(name for _, name in _names_by_id(things)) == ["a", "b", "last"]


def _single(name: str, day: int) -> RemoteEvent:
    start = FIRST + dt.timedelta(days=day)
    return RemoteEvent(provider_event_id=name, start=start, end=start + HOUR, tzid="UTC")


def _take_the_largest_rowid(session: Session) -> None:
    """An item at the largest id: SQLite then picks new ids at random."""
    session.add(
        Event(id=LARGEST_ROWID, calendar_id="cal_ids", provider_event_id="x", series_key="x")
    )


def _owners_of_spans(engine: Engine, box: SecretBox, before: Any = None) -> set[object]:
    """(provider id of the span's item, span start) for every span PAGES stored."""
    apply_pages(engine, box, "cal_ids", *PAGES, before=before)
    with session_scope(engine) as session:
        rows = session.execute(
            text(
                "SELECT e.provider_event_id, o.start_text FROM occurrence o "
                "JOIN event e ON e.id = o.event_id"
            )
        )
        return {(owner, start) for owner, start in rows}


def _utc_text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


PAGES = (
    [_single("one", 1), daily_master(), _single("two", 2)],
    [_single("three", 3), moved_second_instance()],
)
EXPECTED_OWNERS = {
    ("one", _utc_text(FIRST + dt.timedelta(days=1))),
    ("two", _utc_text(FIRST + dt.timedelta(days=2))),
    ("three", _utc_text(FIRST + dt.timedelta(days=3))),
    ("master", _utc_text(FIRST)),
    ("master_override", _utc_text(FIRST + dt.timedelta(days=1, hours=2))),
    ("master", _utc_text(FIRST + dt.timedelta(days=2))),
}


def test_every_span_points_at_its_own_item_across_pages(engine: Engine, box: SecretBox) -> None:
    assert _owners_of_spans(engine, box) == EXPECTED_OWNERS


def test_every_span_points_at_its_own_item_when_sqlite_ids_are_not_certain(
    sqlite_engine: Engine, box: SecretBox
) -> None:
    assert _owners_of_spans(sqlite_engine, box, _take_the_largest_rowid) == EXPECTED_OWNERS
