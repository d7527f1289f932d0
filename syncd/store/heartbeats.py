"""Daemon heartbeats: which daemons are alive now (``syncd status``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete
from sqlmodel import col, select

from syncd.store.db import session_scope
from syncd.store.models import DaemonHeartbeat, utcnow


def record_heartbeat(engine: Engine, worker: str, started_at: dt.datetime) -> None:
    """``worker`` is alive now (insert or refresh its row)."""
    with session_scope(engine) as session:
        row = session.get(DaemonHeartbeat, worker)
        now = utcnow()
        if row is None:
            row = DaemonHeartbeat(worker=worker, started_at=started_at, last_seen_at=now)
        row.last_seen_at = now
        session.add(row)


def remove_heartbeat(engine: Engine, worker: str) -> None:
    """``worker`` stopped cleanly."""
    with session_scope(engine) as session:
        session.execute(delete(DaemonHeartbeat).where(col(DaemonHeartbeat.worker) == worker))


def heartbeats_since(engine: Engine, since: dt.datetime) -> list[DaemonHeartbeat]:
    """The daemons whose heartbeat was seen at or after ``since``, newest first."""
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(DaemonHeartbeat)
                .where(col(DaemonHeartbeat.last_seen_at) >= since)
                .order_by(col(DaemonHeartbeat.last_seen_at).desc())
            )
        )
