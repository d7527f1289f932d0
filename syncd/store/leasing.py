"""Leasing due rows: the one claim statement every work queue uses.

Three queues are worked through leases: profiles to sync (``syncd.sync.leases``),
managed events to write (``syncd.store.managed``) and webhooks to deliver
(``syncd.notify.delivery``). Each table has ``id``, ``lease_owner`` and
``lease_expires_at``; a row is claimable when it is due (the queue's own conditions)
and nobody holds an unexpired lease on it. Claiming stamps the row with the worker's id
and an expiry, so a worker that dies keeps its rows only until the lease runs out.

- Postgres: one statement. ``SELECT … FOR UPDATE SKIP LOCKED`` (in a CTE) picks due rows
  no concurrent claimer has locked, and the ``UPDATE … RETURNING`` stamps them and
  returns each with the owner it had, so the caller can count takeovers of expired
  leases. Concurrent daemons never claim the same row.
- SQLite: one daemon owns the database and ``BEGIN IMMEDIATE`` already serialises
  writers, so a plain ``SELECT`` followed by an ``UPDATE`` of the chosen ids is enough.

Either way the rows come back in the queue's order (``order_by``), at most ``limit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, inspect, or_, select, update
from sqlmodel import Session, SQLModel

__all__ = ["Claimed", "claim_due", "lease_table"]


@dataclass(frozen=True)
class Claimed:
    """One row just leased, with the worker that held its (expired) lease before."""

    id: Any
    previous_owner: str | None

    def taken_over_from(self, worker_id: str) -> bool:
        """Whether another worker held this row (its lease had expired: it died or stalled)."""
        return self.previous_owner not in (None, worker_id)


def lease_table(model: type[SQLModel]) -> Table:
    """The table of a leased model (it has ``id``, ``lease_owner``, ``lease_expires_at``)."""
    return cast(Table, inspect(model).local_table)


def claim_due(
    session: Session,
    table: Table,
    due: Sequence[ColumnElement[bool]],
    order_by: Sequence[str],
    worker_id: str,
    limit: int,
    now: dt.datetime,
    lease_seconds: float,
) -> list[Claimed]:
    """Lease up to ``limit`` rows of ``table`` matching ``due`` whose lease is free at
    ``now``, first by the columns named in ``order_by`` (ascending); in that order.

    Runs in the caller's transaction (``session``), so what else the caller reads there
    sees the rows as leased.
    """
    if limit <= 0:
        return []
    columns = table.c
    free = or_(columns.lease_expires_at.is_(None), columns.lease_expires_at < now)
    extra = [columns[name] for name in order_by if name not in ("id", "lease_owner")]
    query = (
        select(columns.id, columns.lease_owner, *extra)
        .where(*due, free)
        .order_by(*(columns[name] for name in order_by))
        .limit(limit)
    )
    stamp = {
        "lease_owner": worker_id,
        "lease_expires_at": now + dt.timedelta(seconds=lease_seconds),
    }
    rows: Sequence[Row[Any]]
    if session.get_bind().dialect.name == "postgresql":
        locked = query.with_for_update(skip_locked=True).cte("due")
        returned = session.execute(
            update(table).where(columns.id == locked.c.id).values(**stamp).returning(*locked.c)
        ).all()
        # RETURNING comes in no particular order; put the rows back in the queue's.
        rows = sorted(returned, key=lambda row: tuple(row._mapping[name] for name in order_by))
    else:  # SQLite: BEGIN IMMEDIATE already serialises writers
        rows = session.execute(query).all()
        if rows:
            session.execute(
                update(table).where(columns.id.in_([row.id for row in rows])).values(**stamp)
            )
    return [Claimed(row.id, row.lease_owner) for row in rows]
