"""The log of sync runs (``SyncRun``): a row opened as a run starts and closed as it ends.

Both are single statements on the table (no ORM unit of work): every run of every
profile writes them, a no-change run included.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session

from syncd.store.models import SyncRun

_RUN_TABLE = SyncRun.__table__  # type: ignore[attr-defined]
_OPEN_RUN = insert(_RUN_TABLE).values(
    profile_id=bindparam("profile_id"),
    worker=bindparam("worker"),
    started_at=bindparam("started_at"),
    outcome="running",
    pages=0,
    changes=0,
)
_CLOSE_RUN = (
    update(_RUN_TABLE)
    .where(_RUN_TABLE.c.id == bindparam("run_id"))
    .values(
        finished_at=bindparam("run_finished_at"),
        outcome=bindparam("run_outcome"),
        detail=bindparam("run_detail"),
        pages=bindparam("run_pages"),
        changes=bindparam("run_changes"),
    )
)


def open_run(session: Session, profile_id: str, worker: str, started_at: dt.datetime) -> int:
    """A new ``running`` row for this run; returns its id."""
    result: Any = session.execute(
        _OPEN_RUN, {"profile_id": profile_id, "worker": worker, "started_at": started_at}
    )
    return int(result.inserted_primary_key[0])


def close_run_row(
    session: Session,
    run_id: int,
    finished_at: dt.datetime,
    outcome: str,
    detail: str | None,
    pages: int,
    changes: int,
) -> None:
    """The run's row closed with how it ended."""
    session.execute(
        _CLOSE_RUN,
        {
            "run_id": run_id,
            "run_finished_at": finished_at,
            "run_outcome": outcome,
            "run_detail": detail,
            "run_pages": pages,
            "run_changes": changes,
        },
    )
