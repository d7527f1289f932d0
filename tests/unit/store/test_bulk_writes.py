"""The lean executemany (``syncd.store.bulk``) stores exactly what SQLAlchemy stores.

Differential: the same rows go through SQLAlchemy's ``insert()`` / bulk ``update()`` and
through the lean path, on every backend the ``engine`` fixture gives; every column is
then read back as the database's own text (``CAST(… AS TEXT)``) and through the models.
The corpus covers each column type of ``Event`` and ``Occurrence``: None, JSON (nested,
unicode, floats, SQL NULL and JSON ``[]``), datetimes with microseconds given in UTC and
in other offsets, booleans, unicode text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, Text, cast, insert, select, update
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlmodel import Session

from syncd.store.bulk import bulk_insert, bulk_update_by_id, sqlite_utc_text
from syncd.store.columns import UTCDateTime
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event, Occurrence
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

pytestmark = pytest.mark.store

EVENT = Event.__table__  # type: ignore[attr-defined]
OCCURRENCE = Occurrence.__table__  # type: ignore[attr-defined]
BERLIN = dt.timezone(dt.timedelta(hours=2))
EVENT_COLUMNS = tuple(
    column.name
    for column in EVENT.columns
    if column.name not in ("id", "managed_event_id", "expanded_until")
)
OCCURRENCE_COLUMNS = tuple(column.name for column in OCCURRENCE.columns if column.name != "id")


def _event_corpus() -> list[dict[str, Any]]:
    """Event rows (without calendar and provider id) covering every column type."""
    rich = {
        "series_key": "série-ü",
        "ical_uid": "uid-\u00e9\u4e2d@example.com",
        "recurring": True,
        "is_override": False,
        "original_start": "2026-03-29T02:30:00+02:00",
        "start_utc": dt.datetime(2026, 3, 29, 0, 30, 0, 123456, dt.UTC),
        "end_utc": dt.datetime(2026, 3, 29, 3, 30, 0, 1, BERLIN),
        "start_text": "2026-03-29T02:30:00.123456+02:00",
        "end_text": "2026-03-29T03:30:00+02:00",
        "tzid": "Europe/Berlin",
        "all_day": False,
        "status": "tentative",
        "transparency": "transparent",
        "participation_status": "accepted",
        "summary": "Réunion 🗓 \u4f1a\u8b70 'quoted' \"double\" \\ back",
        "description": "line one\nline two\ttab\r\n",
        "location": "Straße 1, Zürich",
        "geo": {"latitude": 47.376887, "longitude": 8.541694},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "EXDATE:20260401T000000Z"],
        "ical": "BEGIN:VCALENDAR\r\nSUMMARY:R\u00e9union\r\nEND:VCALENDAR\r\n",
        "conferencing": {"provider_description": "Zoom", "join_url": "https://z/j?a=1&b=ü"},
        "etag": '"etag-1"',
        "generation": 7,
        "expansion_failed_etag": "",
        "instance_participation": {"20260401T000000Z": "declined"},
        "attendees": [
            {"email": "ä@example.com", "display_name": "Ädä", "status": "accepted", "self": True},
            {"email": "b@example.com", "display_name": "", "status": "needs_action", "self": False},
        ],
        "organizer": {"email": "o@example.com", "display_name": "Ö \u4e2d", "self": False},
        "can_reply": True,
        "provider_series_id": "série-ü",
        "provider_updated_at": dt.datetime(1999, 12, 31, 23, 59, 59, 999999, dt.UTC),
        "created_at": dt.datetime(2026, 1, 2, 3, 4, 5, 600000, dt.UTC),
        "updated_at": dt.datetime(2026, 1, 2, 5, 4, 5, 7, BERLIN),
    }
    bare = {
        **{name: None for name in rich},
        "series_key": "single",
        "recurring": False,
        "is_override": False,
        "start_text": "2026-05-01",
        "end_text": "2026-05-02",
        "all_day": True,
        "status": "confirmed",
        "transparency": "opaque",
        "participation_status": "unknown",
        "summary": "",
        "description": "",
        "location": "",
        "recurrence": [],
        "generation": 0,
        "can_reply": False,
        "start_utc": dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        "end_utc": dt.datetime(2026, 5, 2, tzinfo=dt.UTC),
        "created_at": dt.datetime(2026, 5, 1, 0, 0, 0, 0, dt.UTC),
        "updated_at": dt.datetime(2026, 5, 1, 0, 0, 0, 0, dt.UTC),
    }
    override = {
        **rich,
        "is_override": True,
        "recurring": True,
        "geo": {"latitude": -33.0, "longitude": 0.0},
        "attendees": [],
        "conferencing": {"provider_description": "", "join_url": "", "password": "pw"},
        "instance_participation": None,
    }
    return [rich, bare, override]


def _occurrence_corpus(event_id: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": event_id,
            "start_utc": dt.datetime(2026, 3, 29, 0, 30, 0, 123456, dt.UTC),
            "end_utc": dt.datetime(2026, 3, 29, 3, 30, 0, 999999, BERLIN),
            "all_day": False,
            "start_text": "2026-03-29T02:30:00.123456+02:00",
            "end_text": "2026-03-29T03:30:00.999999+02:00",
            "free_busy_status": "tentative",
        },
        {
            "event_id": event_id,
            "start_utc": dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
            "end_utc": dt.datetime(2026, 5, 2, tzinfo=dt.UTC),
            "all_day": True,
            "start_text": "2026-05-01",
            "end_text": "2026-05-02",
            "free_busy_status": "free",
        },
    ]


def _calendar(engine: Engine, box: SecretBox, calendar_id: str) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, calendar_id).application
        account = create_account(session, application.id, f"{calendar_id}@b.c")
        profile = create_profile(session, box, account, "caldav", calendar_id, {"url": "x"})
        session.add(Calendar(id=calendar_id, profile_id=profile.id, provider_calendar_id="c"))


def _as_text(session: Session, table: Any, calendar_id: str) -> list[tuple[Any, ...]]:
    """Every column but the id as the database's own text, in insertion order."""
    columns = [cast(column, Text) for column in table.columns if column.name != "id"]
    query = select(*columns).where(table.c.calendar_id == calendar_id).order_by(table.c.id)
    return [tuple(row) for row in session.execute(query)]


def _tuples(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(row[name] for name in columns) for row in rows]


def _repeating_corpus() -> list[dict[str, Any]]:
    """Rows whose values repeat, as a page's do: one datetime object in every row, equal
    JSON values, and values equal to Python but not as JSON (``True == 1``, ``-0.0 == 0.0``)."""
    written_at = dt.datetime(2026, 1, 2, 3, 4, 5, 600000, BERLIN)
    bare = _event_corpus()[1]
    organizers: list[Any] = [
        {"email": "o@example.com", "display_name": "", "self": True},
        {"email": "o@example.com", "display_name": "", "self": 1},
        {"email": "o@example.com", "display_name": "", "self": True},
        None,
        {"email": "o@example.com", "self": True, "display_name": ""},
        {"email": "o@example.com", "display_name": "", "self": True},
    ]
    recurrences: list[Any] = [[], [], ["RRULE:FREQ=DAILY"], [True], [1], ["RRULE:FREQ=DAILY"]]
    geos: list[Any] = [{"latitude": 0.0}, {"latitude": -0.0}, None, {"latitude": 0}] * 2
    return [
        {
            **bare,
            "organizer": organizer,
            "recurrence": recurrence,
            "geo": geo,
            "attendees": [{"email": "a@b.c", "self": False}] if n % 2 else [],
            "created_at": written_at,
            "updated_at": written_at,
        }
        for n, (organizer, recurrence, geo) in enumerate(
            zip(organizers, recurrences, geos, strict=False)
        )
    ]


def test_repeated_values_are_stored_as_sqlalchemy_stores_each(
    engine: Engine, box: SecretBox
) -> None:
    _write_events_both_ways(engine, box, _repeating_corpus())
    with Session(engine) as session:
        library, lean = _as_text(session, EVENT, "cal_lib"), _as_text(session, EVENT, "cal_lean")
    calendar_column = [c.name for c in EVENT.columns if c.name != "id"].index("calendar_id")
    assert len(lean) == 6
    assert [row[:calendar_column] + row[calendar_column + 1 :] for row in lean] == [
        row[:calendar_column] + row[calendar_column + 1 :] for row in library
    ]


def _write_events_both_ways(
    engine: Engine, box: SecretBox, corpus: list[dict[str, Any]] | None = None
) -> None:
    for calendar_id in ("cal_lib", "cal_lean"):
        _calendar(engine, box, calendar_id)
    corpus = corpus if corpus is not None else _event_corpus()
    with session_scope(engine) as session:
        library = [
            {"calendar_id": "cal_lib", "provider_event_id": f"e{n}", **row}
            for n, row in enumerate(corpus)
        ]
        session.execute(insert(EVENT), library)
        lean = [{**row, "calendar_id": "cal_lean"} for row in library]
        bulk_insert(session, EVENT, EVENT_COLUMNS).execute(session, _tuples(lean, EVENT_COLUMNS))


def test_event_rows_inserted_lean_store_the_same_text_as_sqlalchemy_insert(
    engine: Engine, box: SecretBox
) -> None:
    _write_events_both_ways(engine, box)
    with Session(engine) as session:
        library, lean = _as_text(session, EVENT, "cal_lib"), _as_text(session, EVENT, "cal_lean")
    calendar_column = [c.name for c in EVENT.columns if c.name != "id"].index("calendar_id")
    assert len(lean) == len(_event_corpus())
    assert [row[:calendar_column] + row[calendar_column + 1 :] for row in lean] == [
        row[:calendar_column] + row[calendar_column + 1 :] for row in library
    ]


def test_event_rows_inserted_lean_read_back_as_sqlalchemy_insert_rows(
    engine: Engine, box: SecretBox
) -> None:
    _write_events_both_ways(engine, box)
    with Session(engine) as session:
        rows = {
            calendar_id: [
                event.model_dump(exclude={"id", "calendar_id"})
                for event in session.scalars(
                    select(Event).where(Event.calendar_id == calendar_id).order_by(Event.id)  # type: ignore[arg-type]
                )
            ]
            for calendar_id in ("cal_lib", "cal_lean")
        }
    assert rows["cal_lean"] == rows["cal_lib"]
    assert rows["cal_lean"][0]["end_utc"] == dt.datetime(2026, 3, 29, 1, 30, 0, 1, dt.UTC)


def test_occurrence_rows_inserted_lean_store_the_same_text_as_sqlalchemy_insert(
    engine: Engine, box: SecretBox
) -> None:
    _write_events_both_ways(engine, box)
    with session_scope(engine) as session:
        event_id = session.scalars(select(EVENT.c.id).limit(1)).one()
        corpus = _occurrence_corpus(event_id)
        session.execute(insert(OCCURRENCE), [{"calendar_id": "cal_lib", **row} for row in corpus])
        lean = [{"calendar_id": "cal_lean", **row} for row in corpus]
        statement = bulk_insert(session, OCCURRENCE, OCCURRENCE_COLUMNS)
        statement.execute(session, _tuples(lean, OCCURRENCE_COLUMNS))
    with Session(engine) as session:
        library = _as_text(session, OCCURRENCE, "cal_lib")
        written = _as_text(session, OCCURRENCE, "cal_lean")
    assert len(written) == 2
    assert [row[1:] for row in written] == [row[1:] for row in library]


def test_bulk_update_by_id_stores_the_same_text_as_sqlalchemys_bulk_update(
    engine: Engine, box: SecretBox
) -> None:
    _write_events_both_ways(engine, box)
    columns = [name for name in EVENT_COLUMNS if name not in ("calendar_id", "provider_event_id")]
    changes = list(reversed(_event_corpus()))  # rows take other rows' values
    with Session(engine) as session:
        before = _as_text(session, EVENT, "cal_lean")
    with session_scope(engine) as session:
        ids = {
            calendar_id: list(
                session.scalars(
                    select(EVENT.c.id).where(EVENT.c.calendar_id == calendar_id).order_by("id")
                )
            )
            for calendar_id in ("cal_lib", "cal_lean")
        }
        session.execute(
            update(Event),
            [{"id": row_id, **row} for row_id, row in zip(ids["cal_lib"], changes, strict=True)],
        )
        lean = [
            (*(row[name] for name in columns), row_id)
            for row_id, row in zip(ids["cal_lean"], changes, strict=True)
        ]
        bulk_update_by_id(session, EVENT, columns).execute(session, lean)
    with Session(engine) as session:
        library, written = _as_text(session, EVENT, "cal_lib"), _as_text(session, EVENT, "cal_lean")
    assert [row[1:] for row in written] == [row[1:] for row in library]
    assert written != before


def test_lean_insert_runs_in_the_callers_transaction(engine: Engine, box: SecretBox) -> None:
    _calendar(engine, box, "cal_tx")
    row = {"calendar_id": "cal_tx", "provider_event_id": "e", **_event_corpus()[1]}
    with Session(engine) as session:
        bulk_insert(session, EVENT, EVENT_COLUMNS).execute(session, _tuples([row], EVENT_COLUMNS))
        assert session.scalars(select(EVENT.c.id)).all()
        session.rollback()
    with Session(engine) as session:
        assert session.scalars(select(EVENT.c.id)).all() == []


def test_lean_insert_refuses_to_leave_out_a_column_with_a_python_default(
    engine: Engine,
) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="summary"):
        bulk_insert(session, EVENT, [name for name in EVENT_COLUMNS if name != "summary"])


def test_a_row_of_the_wrong_width_is_refused_before_anything_is_written(
    engine: Engine,
) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="wide"):
        bulk_insert(session, OCCURRENCE, OCCURRENCE_COLUMNS).execute(session, [("cal",)])


def _datetime_corpus() -> list[dt.datetime]:
    zones = [dt.UTC, BERLIN, dt.timezone(dt.timedelta(hours=-9, minutes=-30))]
    zones += [ZoneInfo("Europe/Berlin"), ZoneInfo("America/St_Johns"), ZoneInfo("UTC")]
    moments = [
        dt.datetime(1, 1, 2, 0, 0, 0, 0),
        dt.datetime(999, 12, 31, 23, 59, 59, 999999),
        dt.datetime(1970, 1, 1),
        dt.datetime(2026, 3, 29, 2, 30, 0, 1),
        dt.datetime(2026, 10, 25, 2, 30, 0, 500000),
        dt.datetime(9999, 12, 30, 12, 0, 0, 10),
    ]
    return [moment.replace(tzinfo=zone) for moment in moments for zone in zones]


def test_the_fast_sqlite_utc_text_equals_the_column_types_own_conversion() -> None:
    dialect = SQLiteDialect_pysqlite()
    library = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert library is not None
    assert [sqlite_utc_text(value) for value in _datetime_corpus()] == [
        library(value) for value in _datetime_corpus()
    ]


def test_the_fast_sqlite_utc_text_refuses_a_naive_datetime_like_the_column_type() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc_text(dt.datetime(2026, 1, 1))


def test_lean_insert_asks_the_database_for_nothing_back(engine: Engine) -> None:
    with Session(engine) as session:
        statement = bulk_insert(session, OCCURRENCE, OCCURRENCE_COLUMNS)
    assert "RETURNING" not in statement.sql.upper()
