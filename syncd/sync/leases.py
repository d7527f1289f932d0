"""Leases on due profiles, so any number of daemons can share one Postgres safely.

A daemon claims due profiles by stamping them with its id and an expiry. On Postgres the
claim uses ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent daemons never pick the same
row; an expired lease (a dead daemon) is simply claimable again. On SQLite one daemon owns
the database, and ``BEGIN IMMEDIATE`` serialises the claim anyway.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine, or_, select, update
from sqlmodel import col

from syncd import metrics
from syncd.statuses import SyncStatus
from syncd.store.db import session_scope
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
    expires = now + dt.timedelta(seconds=lease_seconds)
    due = (
        select(Profile.id, Profile.lease_owner)
        .where(
            col(Profile.next_due_at).is_not(None),
            col(Profile.next_due_at) <= now,
            Profile.sync_status != SyncStatus.DISCONNECTED,
            or_(col(Profile.lease_expires_at).is_(None), col(Profile.lease_expires_at) < now),
        )
        # Strict FIFO (ties broken by id, served by the next_due_at index): claims never
        # change next_due_at, so a profile whose run was interrupted (an expired lease)
        # is always ahead of every due profile nobody has claimed yet.
        .order_by(col(Profile.next_due_at), col(Profile.id))
        .limit(limit)
    )
    with session_scope(engine) as session:
        if engine.dialect.name == "postgresql":
            # One round trip: lock the due rows other daemons have not locked, stamp them,
            # and return each with the owner it had (to spot takeovers).
            locked = due.with_for_update(skip_locked=True).cte("due")
            rows = session.execute(
                update(Profile.__table__)  # type: ignore[arg-type]
                .where(Profile.__table__.c.id == locked.c.id)  # type: ignore[attr-defined]
                .values(lease_owner=worker_id, lease_expires_at=expires)
                .returning(locked.c.id, locked.c.lease_owner)
            ).all()
        else:  # SQLite: BEGIN IMMEDIATE already serialises writers
            rows = session.execute(due).all()
            if rows:
                session.execute(
                    update(Profile)
                    .where(col(Profile.id).in_([row.id for row in rows]))
                    .values(lease_owner=worker_id, lease_expires_at=expires)
                )
    ids = [row.id for row in rows]
    taken_over = [row for row in rows if row.lease_owner not in (None, worker_id)]
    for row in taken_over:
        log.warning(
            "took over profile %s: the lease of %s had expired",
            row.id,
            row.lease_owner,
            extra={"profile_id": row.id, "previous_owner": row.lease_owner},
        )
    metrics.LEASE_TAKEOVERS.inc(len(taken_over))
    return ids


def renew_leases(engine: Engine, worker_id: str, lease_seconds: float) -> int:
    """Extend every lease ``worker_id`` holds (the daemon's heartbeat); returns how many."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Profile)
            .where(Profile.lease_owner == worker_id)
            .values(lease_expires_at=utcnow() + dt.timedelta(seconds=lease_seconds))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_leases(engine: Engine, worker_id: str) -> None:
    """Give back every lease of ``worker_id`` (clean shutdown)."""
    with session_scope(engine) as session:
        session.execute(
            update(Profile)
            .where(Profile.lease_owner == worker_id)
            .values(lease_owner=None, lease_expires_at=None)
        )


def request_sync_now(engine: Engine, profile_id: str) -> None:
    """Make a profile due immediately (push notification, operator request)."""
    with session_scope(engine) as session:
        session.execute(
            update(Profile).where(Profile.id == profile_id).values(next_due_at=utcnow())
        )
