"""A page's event rows inserted into SQLite, alone and beside a thread running Python.

    .venv/bin/python -m bench.bulk_insert_beside_thread            # 2,000 rows, 3 runs
    .venv/bin/python -m bench.bulk_insert_beside_thread --smoke    # 100 rows, 1 run (CI)

During a sync the engine writes a page while the adapter's thread parses the next one.
SQLite's driver gives the interpreter away around every row ``executemany`` steps, so
beside a busy thread each row waits for the interpreter to come back (up to the switch
interval, 5 ms). Figures, each the median of ``--repeat`` runs into an emptied table:

(a) ``executemany`` of the rows (SQLAlchemy's ``exec_driver_sql`` with a list of tuples),
    alone and beside a thread spinning in Python: the floor the lean path is held to;
(b) the lean path syncd uses (``syncd.store.bulk``: multi-row INSERTs on SQLite), the
    same two ways.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from bench.common import machine_line, new_store
from bench.timing import Timings, timed_into
from syncd.store.bulk import bulk_insert
from syncd.store.event_models import Event
from syncd.store.event_rows import INSERT_COLUMNS
from syncd.store.models import Calendar

EVENT = Event.__table__  # type: ignore[attr-defined]


def sample_rows(count: int, calendar_id: str) -> list[tuple[object, ...]]:
    """``count`` event rows as a page writes them (``INSERT_COLUMNS`` order)."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for index in range(count):
        start = now + dt.timedelta(hours=index)
        values: dict[str, object] = {
            "calendar_id": calendar_id,
            "provider_event_id": f"bench-{index}",
            "created_at": now,
            "series_key": f"bench-{index}",
            "recurring": False,
            "is_override": False,
            "start_utc": start,
            "end_utc": start + dt.timedelta(hours=1),
            "start_text": start.isoformat(),
            "end_text": (start + dt.timedelta(hours=1)).isoformat(),
            "all_day": False,
            "status": "confirmed",
            "transparency": "opaque",
            "participation_status": "accepted",
            "summary": f"Event {index}",
            "description": "",
            "location": "",
            "recurrence": [],
            "can_reply": False,
            "updated_at": now,
            "generation": 1,
        }
        rows.append(tuple(values.get(column) for column in INSERT_COLUMNS))
    return rows


@contextmanager
def busy_thread(active: bool) -> Iterator[None]:
    """A thread running Python (as an adapter parsing a page does) while the block runs."""
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while not stop.is_set():
            for _ in range(1000):
                count += 1

    thread = threading.Thread(target=spin, daemon=True)
    if active:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if active:
            thread.join()


def insert_once(engine: Engine, rows: list[tuple[object, ...]], lean: bool, busy: bool) -> None:
    with Session(engine) as session:
        session.execute(text("DELETE FROM event"))
        session.commit()
        statement = bulk_insert(session, EVENT, INSERT_COLUMNS)
        with busy_thread(busy):
            if lean:
                statement.execute(session, rows)
            else:
                session.connection().exec_driver_sql(statement.sql, statement.rows(rows))
            session.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows (default 2000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--smoke", action="store_true", help="100 rows, 1 run: for CI")
    options = parser.parse_args(argv)
    count = options.rows or (100 if options.smoke else 2000)
    repeat = options.repeat or (1 if options.smoke else 3)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="syncd-bench-insert-") as folder:
        store = new_store(Path(folder) / "syncd.db", "caldav", "bench", {})
        calendar_id = "cal_bench"
        with Session(store.engine) as session:
            session.add(Calendar(id=calendar_id, profile_id=store.profile_id, name="Bench",
                                 provider_calendar_id="bench"))  # fmt: skip
            session.commit()
        rows = sample_rows(count, calendar_id)
        figures: dict[tuple[bool, bool], Timings] = {}
        for _ in range(repeat):  # in turn, so every figure sees the machine alike
            for lean in (False, True):
                for busy in (False, True):
                    timed_into(
                        figures.setdefault((lean, busy), Timings()),
                        functools.partial(insert_once, store.engine, rows, lean, busy),
                    )
        for (lean, busy), timings in figures.items():
            path = "LEAN multi-row INSERTs" if lean else "FLOOR executemany"
            beside = "beside a busy thread" if busy else "alone"
            print(f"{path} of {count} event rows, {beside}: {timings.describe()}")
        store.close()


if __name__ == "__main__":
    main()
