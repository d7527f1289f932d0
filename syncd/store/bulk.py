"""Lean executemany for the pages a sync writes: rows as tuples straight to the driver.

SQLAlchemy's executemany builds a parameter dict per row and looks up each column's
type processor per value; on a full sync of 10,000 events that per-row work, not the
database, was a third of the sync. Here the statement is compiled once per table,
columns and dialect, each column's own bind processor (``UTCDateTime``'s conversion,
the JSON serialiser, SQLite's DATETIME text, psycopg's ``Json`` wrapper) is fetched
once, and the rows go to the DBAPI cursor's ``executemany`` as tuples: the stored
bytes are exactly what SQLAlchemy's ``insert()``/``update()`` would have written.
The statement runs on the session's connection, so inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from syncd.calendar.utc_text import utc_iso
from syncd.store.columns import UTCDateTime

__all__ = ["BulkStatement", "bulk_insert", "bulk_update_by_id", "sqlite_utc_text"]

_Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class Conversion:
    """How one parameter's values become the driver's: its column type's bind processor,
    and whether that processor maps None to None (then None is passed without a call:
    most rows have no attendees, conferencing or coordinates).

    Bind processors are pure functions of the value, so work is saved where rows repeat
    one: a column holding the same object in every row (the page's write time) is
    converted once, and a JSON column (``memoize``) serialises each distinct small value
    once (every row's empty ``recurrence``, the calendar owner as every organizer).
    """

    position: int
    process: _Processor
    keeps_none: bool
    memoize: bool = False

    def apply(self, values: Sequence[Any]) -> Sequence[Any]:
        process = self.process
        if values and all(map(operator.is_, values, itertools.repeat(values[0]))):
            return [process(values[0])] * len(values)
        if self.memoize:
            return _memoized(process, values, self.keeps_none)
        if self.keeps_none:
            return [None if value is None else process(value) for value in values]
        return list(map(process, values))


#: Scalars whose equality (with their type) means equal JSON; not floats: -0.0 == 0.0.
_KEYED_SCALARS = frozenset({str, int, bool, type(None)})


def _memo_key(value: Any) -> object:
    """A key equal only for values that serialise alike: one of ``_KEYED_SCALARS`` (None
    included: most rows' attendees) or a flat list or dict of them, types included
    (``True == 1``); None for anything else (not memoized). Built with C-level maps: it
    runs for every row of every JSON column."""
    kind = type(value)
    if kind in _KEYED_SCALARS:
        return (kind, value)
    if kind is list:
        item_types = tuple(map(type, value))
        return (list, tuple(value), item_types) if _KEYED_SCALARS.issuperset(item_types) else None
    if kind is dict:
        value_types = tuple(map(type, value.values()))
        if _KEYED_SCALARS.issuperset(value_types) and _STR.issuperset(map(type, value)):
            return (dict, tuple(value.items()), value_types)
    return None


_STR = frozenset({str})


def _memoized(process: _Processor, values: Sequence[Any], keeps_none: bool) -> list[Any]:
    """Each distinct value converted once; None passed as it is where the processor
    keeps it (most rows' attendees, conferencing, coordinates)."""
    done: dict[object, Any] = {}
    converted: list[Any] = []
    for value in values:
        if value is None and keeps_none:
            converted.append(None)
            continue
        key = _memo_key(value)
        if key is None:
            converted.append(process(value))
            continue
        found = done.get(key, _MISSING)
        if found is _MISSING:
            found = done[key] = process(value)
        converted.append(found)
    return converted


_MISSING = object()


@dataclass(frozen=True)
class BulkStatement:
    """One compiled statement and the conversions of its positional parameters."""

    sql: str
    #: The parameters that have a bind processor (the others pass as they are).
    conversions: tuple[Conversion, ...]
    width: int
    #: The caller's row in the statement's parameter order (SQLAlchemy renders an
    #: INSERT's columns in table order); None when they already agree.
    reorder: Callable[[Sequence[Any]], tuple[Any, ...]] | None
    table: Table
    #: An SQLite INSERT's ``(?, ?, …)``, repeated for multi-row INSERTs; else None.
    values_group: str | None = None

    def rows(self, values: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The driver's parameter tuples for rows given in the caller's column order.

        Converted column by column (transposed with ``zip``): one pass per processed
        column instead of a Python loop per row.
        """
        if not values:
            return []
        if any(len(row) != self.width for row in values):
            raise ValueError(f"a row that is not {self.width} parameters wide")
        ordered = values if self.reorder is None else list(map(self.reorder, values))
        columns: list[Sequence[Any]] = list(zip(*ordered, strict=True))
        for conversion in self.conversions:
            columns[conversion.position] = conversion.apply(columns[conversion.position])
        return list(zip(*columns, strict=True))

    def execute(self, session: Session, values: Sequence[Sequence[Any]]) -> int:
        """The rows on the session's connection (executemany, or multi-row INSERTs on
        SQLite); returns how many."""
        rows = self.rows(values)
        if not rows:  # an empty list would run the statement once without parameters
            return 0
        connection = session.connection()
        most = self._rows_per_insert(connection)
        if most < 2:
            connection.exec_driver_sql(self.sql, rows)
            return len(rows)
        assert self.values_group is not None  # noqa: S101 - _rows_per_insert checked it
        start = 0
        for count in statement_sizes(len(rows), most):
            part = rows[start : start + count]
            start += count
            sql = _multi_row_sql(self.sql, self.values_group, count)
            connection.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(part)))
        return len(rows)

    def _rows_per_insert(self, connection: Connection) -> int:
        """Most rows one multi-row INSERT may carry here; below 2: use executemany.

        SQLite's driver releases the interpreter's lock around every row an executemany
        steps through, so while another thread runs Python (the adapter parsing the
        next page) each row waits for it to give the lock back, up to the switch
        interval (5 ms): 10,000 rows took 41 s beside a busy thread, against 0.35 s as
        multi-row INSERTs of a few hundred rows, each stepped with the lock released.
        """
        if self.values_group is None:
            return 0
        driver = connection.connection.driver_connection
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
        return _largest_power_of_two(min(MULTI_ROW_INSERT, limit // self.width))

    def insert_with_ids(
        self, session: Session, values: Sequence[Sequence[Any]]
    ) -> list[int] | None:
        """:meth:`execute` of an INSERT, and the new rows' ids in row order when the
        database makes them certain; None when it does not (then read them back).

        SQLite gives a row without an id one more than the table's largest rowid (only
        a table whose largest is the largest integer gets random ones). The page's
        transaction holds the write lock, so if the last id inserted is the largest
        before plus the rows written, the rows took exactly the ids in between, in order;
        anything else (another writer, random ids) fails that test. Other databases: None.
        """
        if not values or session.get_bind().dialect.name != "sqlite":
            self.execute(session, values)
            return None
        (key,) = self.table.primary_key.columns
        connection = session.connection()
        largest = f"SELECT max({key.name}) FROM {self.table.name}"  # noqa: S608 - our names
        before = connection.exec_driver_sql(largest).scalar() or 0
        written = self.execute(session, values)
        last = connection.exec_driver_sql("SELECT last_insert_rowid()").scalar()
        if last != before + written:
            return None
        return list(range(before + 1, last + 1))


#: Compiled statements per dialect (an engine's lives as long as the engine).
_cache: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, Table, tuple[str, ...]], BulkStatement]]
_cache = weakref.WeakKeyDictionary()


def _positional(dialect: Dialect) -> Dialect:
    """A dialect of the same kind that compiles positional parameters (tuples per row)."""
    if dialect.positional:
        return dialect
    if dialect.paramstyle != "pyformat":
        raise ValueError(f"no positional form of paramstyle {dialect.paramstyle!r}")
    # pyformat drivers (psycopg) take "format" (%s) placeholders too
    return type(dialect)(paramstyle="format")  # type: ignore[call-arg]


def _compile(kind: str, table: Table, columns: tuple[str, ...], dialect: Dialect) -> BulkStatement:
    if kind == "insert":
        omitted = [
            column.name
            for column in table.columns
            if column.name not in columns
            and not column.primary_key
            and (column.default is not None or column.onupdate is not None)
        ]
        if omitted:  # SQLAlchemy would fill these in per row; this path does not
            raise ValueError(f"columns with Python defaults left out: {omitted}")
        statement: Any = insert(table).values({name: bindparam(name) for name in columns})
        names = list(columns)
    else:
        (key,) = table.primary_key.columns
        statement = (
            update(table)
            .where(key == bindparam("_key"))
            .values({name: bindparam(name) for name in columns})
        )
        names = [*columns, "_key"]
    # for_executemany: no RETURNING of the new id (a single-row INSERT on Postgres asks
    # for it), which the server would otherwise send back for every row
    compiled = statement.compile(dialect=_positional(dialect), for_executemany=True)
    order = [names.index(name) for name in compiled.positiontup or ()]
    if sorted(order) != list(range(len(names))):
        raise ValueError(f"parameters {compiled.positiontup} are not the columns {names}")
    reorder = None if order == sorted(order) else operator.itemgetter(*order)
    types = [key.type if name == "_key" else table.c[name].type for name in names]
    conversions = tuple(
        Conversion(
            position, process, process(None) is None, isinstance(types[source], sqltypes.JSON)
        )
        for position, source in enumerate(order)
        if (process := _processor(types[source], dialect)) is not None
    )
    group = None
    if kind == "insert" and dialect.name == "sqlite":
        group = _values_group(compiled.string, len(names))
    return BulkStatement(compiled.string, conversions, len(names), reorder, table, group)


#: Most rows in one multi-row INSERT (a power of two; SQLite's limit of variables in
#: one statement may lower it).
MULTI_ROW_INSERT = 256


def _values_group(sql: str, width: int) -> str | None:
    """The ``(?, ?, …)`` of a one-row ``INSERT … VALUES (…)`` of ``width`` parameters."""
    _, separator, group = sql.rpartition(" VALUES ")
    if separator and group.startswith("(") and group.endswith(")") and group.count("?") == width:
        return group
    return None


def statement_sizes(rows: int, most: int) -> list[int]:
    """``rows`` split into statements of ``most`` rows (a power of two) and the rest in
    powers of two: one table's INSERTs come in at most log2(most) + 1 distinct texts,
    which the driver's statement cache keeps prepared."""
    sizes = [most] * (rows // most)
    rest = rows % most
    while rest:
        size = _largest_power_of_two(rest)
        sizes.append(size)
        rest -= size
    return sizes


def _largest_power_of_two(value: int) -> int:
    return 1 << (value.bit_length() - 1) if value > 0 else 0


@functools.lru_cache(maxsize=64)
def _multi_row_sql(sql: str, group: str, rows: int) -> str:
    return sql + "".join([", " + group] * (rows - 1))


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> _Processor | None:
    """The column type's own bind processor, or a faster one proven equal to it."""
    library = type_.dialect_impl(dialect).bind_processor(dialect)
    fast = (
        library is not None
        and isinstance(type_, UTCDateTime)
        and dialect.name == "sqlite"
        and all(sqlite_utc_text(probe) == library(probe) for probe in _DATETIME_PROBES)
    )
    return sqlite_utc_text if fast else library


#: Values a faster conversion must agree on with the library's before it is used
#: (the differential test in tests/unit/store checks a wider corpus).
_DATETIME_PROBES = (
    dt.datetime(2026, 3, 29, 1, 30, 0, 123456, dt.UTC),
    dt.datetime(2026, 3, 29, 3, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
)


def sqlite_utc_text(value: dt.datetime | None) -> str | None:
    """A ``UTCDateTime`` value as SQLAlchemy's SQLite ``DATETIME`` stores it
    (``YYYY-MM-DD HH:MM:SS.ffffff`` of the naive UTC time), sliced from the instant's
    cached ISO text instead of the decorator's astimezone + replace and the dialect's
    ``%`` formatting of a dict."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    text = utc_iso(value)  # 2026-03-29T01:30:00[.123456]+00:00, shared with the other texts
    return f"{text[:10]} {text[11:19]}{text[19:26] if value.microsecond else '.000000'}"


def _statement(kind: str, table: Table, columns: Sequence[str], dialect: Dialect) -> BulkStatement:
    statements = _cache.get(dialect)
    if statements is None:
        statements = _cache[dialect] = {}
    key = (kind, table, tuple(columns))
    found = statements.get(key)
    if found is None:
        found = statements[key] = _compile(kind, table, key[2], dialect)
    return found


def bulk_insert(session: Session, table: Table, columns: Sequence[str]) -> BulkStatement:
    """``INSERT INTO table (columns) VALUES (…)`` for the session's dialect; rows are
    tuples in ``columns`` order. Every column left out must have no Python default."""
    return _statement("insert", table, columns, session.get_bind().dialect)


def bulk_update_by_id(session: Session, table: Table, columns: Sequence[str]) -> BulkStatement:
    """``UPDATE table SET columns… WHERE <primary key> = …``; rows are tuples of the
    ``columns`` values followed by the row's primary key."""
    return _statement("update", table, columns, session.get_bind().dialect)
