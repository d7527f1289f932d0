"""Leases on due profiles, so any number of daemons can share one Postgres safely.

A daemon claims due profiles by stamping them with its id and an expiry
(``syncd.store.leasing.claim_due``: on Postgres ``SELECT … FOR UPDATE SKIP LOCKED`` so
concurrent daemons never pick the same row); an expired lease (a dead daemon) is simply
claimable again. On SQLite one daemon owns the database, and ``BEGIN IMMEDIATE``
serialises the claim anyway.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine, update
from sqlmodel import col

from syncd import metrics
from syncd.statuses import SyncStatus
from syncd.store.db import session_scope
from syncd.store.leasing import claim_due, lease_table
from syncd.store.models import Profile, utcnow

log = logging.getLogger(__name__)


def claim_due_profiles(
    engine: Engine, worker_id: str, limit: int, lease_seconds: float, now: dt.datetime | None = None
) -> list[str]:
    """Lease up to ``limit`` profiles whose next sync is due; returns their ids.

    A profile whose expired lease was still held by another worker is a takeover (that
    worker died or stalled): counted in ``syncd_lease_takeovers_total`` and logged.
    """
    if limit <= 0:
        return []
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = claim_due(
            session,
            lease_table(Profile),
            due=[
                col(Profile.next_due_at).is_not(None),
                col(Profile.next_due_at) <= now,
                col(Profile.sync_status) != SyncStatus.DISCONNECTED,
            ],
            # Strict FIFO (ties broken by id, served by the next_due_at index): claims
            # never change next_due_at, so a profile whose run was interrupted (an expired
            # lease) is always ahead of every due profile nobody has claimed yet.
            order_by=["next_due_at", "id"],
            worker_id=worker_id,
            limit=limit,
            now=now,
            lease_seconds=lease_seconds,
        )
    taken_over = [row for row in rows if row.taken_over_from(worker_id)]
    for row in taken_over:
        log.warning(
            "took over profile %s: the lease of %s had expired",
            row.id,
            row.previous_owner,
            extra={"profile_id": row.id, "previous_owner": row.previous_owner},
        )
    metrics.LEASE_TAKEOVERS.inc(len(taken_over))
    return [str(row.id) for row in rows]


def renew_leases(engine: Engine, worker_id: str, lease_seconds: float) -> int:
    """Extend every lease ``worker_id`` holds (the daemon's heartbeat); returns how many."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Profile)
            .where(col(Profile.lease_owner) == worker_id)
            .values(lease_expires_at=utcnow() + dt.timedelta(seconds=lease_seconds))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_leases(engine: Engine, worker_id: str) -> None:
    """Give back every lease of ``worker_id`` (clean shutdown)."""
    with session_scope(engine) as session:
        session.execute(
            update(Profile)
            .where(col(Profile.lease_owner) == worker_id)
            .values(lease_owner=None, lease_expires_at=None)
        )


def request_sync_now(engine: Engine, profile_id: str) -> None:
    """Make a profile due immediately (push notification, operator request)."""
    with session_scope(engine) as session:
        session.execute(
            update(Profile).where(col(Profile.id) == profile_id).values(next_due_at=utcnow())
        )
