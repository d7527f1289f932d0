"""What any syncer that maps and stores every event must spend, measured in parts.

A full sync cannot cost less than its adapter pass (fetching the pages, decoding their
JSON and mapping each item into the shared ``RemoteEvent``) plus writing the rows it
ends with. Both are measured here on the benchmark's own data, so a full-sync target
can be compared with what is left once they are paid:

- :func:`adapter_pass`: the profile's adapter, as the engine builds it, paging through
  every calendar from the start with nothing stored;
- :func:`store_floor`: the rows a full sync stored (``event`` and ``occurrence``, read
  back as the driver's tuples, ids and all) inserted again into a copy of the synced
  database without them (same schema and indexes, same tenant, profile and calendar),
  with one ``executemany`` per table and one commit: the database's share alone,
  without any conversion, lookup or expansion.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlmodel import select

from bench.common import SyncStore
from bench.timing import Measured, repeat_timed
from syncd.registry import build_provider
from syncd.store.db import session_scope
from syncd.store.models import Calendar
from syncd.store.profiles import remote_calendar

#: The tables a full sync fills, parents first (``occurrence`` refers to ``event``).
SYNCED_TABLES = ("event", "occurrence")


def adapter_pass(store: SyncStore, provider: str, credentials: dict[str, object]) -> int:
    """Every page of every calendar of the store's profile from the start (a full
    sync's requests and mapping), nothing stored; returns the items mapped."""
    adapter = build_provider(store.settings, provider, dict(credentials))
    with session_scope(store.engine) as session:
        query = select(Calendar).where(Calendar.profile_id == store.profile_id)
        calendars = [remote_calendar(calendar) for calendar in session.exec(query)]
    items = 0
    for calendar in calendars:
        for page in adapter.sync_events(calendar, None):
            items += len(page.upserts) + len(page.deletions)
    return items


def store_floor(synced_database: Path, folder: Path, repeat: int) -> Measured[int]:
    """Timed inserts of ``synced_database``'s synced rows into fresh copies of an empty
    schema (the copy itself untimed); returns the rows written per run."""
    empty = folder / "store-floor-empty.db"  # the synced database without those rows
    with (
        closing(sqlite3.connect(synced_database)) as source,
        closing(sqlite3.connect(empty)) as copy,
    ):
        rows = {
            table: source.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - ours
            for table in SYNCED_TABLES
        }
        source.backup(copy)
        for table in reversed(SYNCED_TABLES):
            copy.execute(f"DELETE FROM {table}")  # noqa: S608 - ours
        copy.commit()
        copy.execute("VACUUM")
    copies: list[Path] = []
    connections: list[sqlite3.Connection] = []

    def fresh_copy() -> sqlite3.Connection:
        copies.append(folder / f"store-floor-{len(copies)}.db")
        shutil.copyfile(empty, copies[-1])
        connection = sqlite3.connect(copies[-1], isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")  # as syncd's engine sets them
        connections.append(connection)
        return connection

    def insert_all(connection: sqlite3.Connection) -> int:
        connection.execute("BEGIN")
        for table, values in rows.items():
            if values:
                marks = ", ".join("?" * len(values[0]))
                connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)  # noqa: S608
        connection.execute("COMMIT")
        return sum(map(len, rows.values()))

    try:
        return repeat_timed(repeat, insert_all, fresh_copy)
    finally:
        for connection in connections:
            connection.close()
        for path in [empty, *copies]:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
