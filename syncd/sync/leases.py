"""Leases on due profiles, so any number of daemons can share one Postgres safely.

A daemon claims due profiles by stamping them with its id and an expiry. On Postgres the
claim uses ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent daemons never pick the same
row; an expired lease (a dead daemon) is simply claimable again. On SQLite one daemon owns
the database, and ``BEGIN IMMEDIATE`` serialises the claim anyway.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, or_, select, update
from sqlmodel import col

from syncd.store.db import session_scope
from syncd.store.models import Profile, utcnow
from syncd.sync.status import DISCONNECTED


def claim_due_profiles(
    engine: Engine, worker_id: str, limit: int, lease_seconds: float, now: dt.datetime | None = None
) -> list[str]:
    """Lease up to ``limit`` profiles whose next sync is due; returns their ids."""
    if limit <= 0:
        return []
    now = now or utcnow()
    with session_scope(engine) as session:
        query = (
            select(Profile.id)
            .where(
                col(Profile.next_due_at).is_not(None),
                col(Profile.next_due_at) <= now,
                Profile.sync_status != DISCONNECTED,
                or_(col(Profile.lease_expires_at).is_(None), col(Profile.lease_expires_at) < now),
            )
            .order_by(col(Profile.next_due_at))
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.execute(query).scalars())
        if ids:
            session.execute(
                update(Profile)
                .where(col(Profile.id).in_(ids))
                .values(
                    lease_owner=worker_id,
                    lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                )
            )
    return ids


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
