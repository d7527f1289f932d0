"""What the managed-event worker reads and writes besides ``syncd.store.managed``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, update
from sqlmodel import col

from syncd.store.db import session_scope
from syncd.store.models import ManagedEvent

__all__ = ["release_managed_event"]


def release_managed_event(engine: Engine, row_id: int, next_attempt_at: dt.datetime | None) -> None:
    """Give back one row's lease, due again at ``next_attempt_at`` (None: not due)."""
    with session_scope(engine) as session:
        session.execute(
            update(ManagedEvent)
            .where(col(ManagedEvent.id) == row_id)
            .values(lease_owner=None, lease_expires_at=None, next_attempt_at=next_attempt_at)
        )
