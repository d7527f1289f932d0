"""The one lease claim (``syncd.store.leasing.claim_due``), on every backend.

The queues built on it (profiles, managed events, webhooks) have their own tests; these
pin the helper's contract: due and unleased rows only, the queue's order, at most
``limit``, and the previous owner of a row whose lease had expired.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import col

from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.leasing import claim_due, lease_table
from syncd.store.models import OutboxMessage
from syncd.store.tenants import create_application

pytestmark = pytest.mark.store

NOW = dt.datetime(2030, 1, 8, 12, 0, tzinfo=dt.UTC)


def queue(engine: Engine, box: SecretBox, due_minutes_ago: list[int]) -> list[int]:
    """Outbox rows due ``n`` minutes before ``NOW`` (negative: not due yet); their ids."""
    with session_scope(engine) as session:
        application = create_application(session, box, "acme").application
        rows = [
            OutboxMessage(
                delivery_id=f"dlv_{index}",
                application_id=application.id,
                kind="change",
                url="https://example.com/hook",
                body="{}",
                next_attempt_at=NOW - dt.timedelta(minutes=minutes),
            )
            for index, minutes in enumerate(due_minutes_ago)
        ]
        session.add_all(rows)
        session.flush()
        return [int(row.id or 0) for row in rows]


def claim(
    engine: Engine, worker: str, limit: int, now: dt.datetime = NOW
) -> list[tuple[int, str | None]]:
    with session_scope(engine) as session:
        claimed = claim_due(
            session,
            lease_table(OutboxMessage),
            due=[col(OutboxMessage.next_attempt_at) <= now],
            order_by=["next_attempt_at", "id"],
            worker_id=worker,
            limit=limit,
            now=now,
            lease_seconds=60,
        )
    return [(row.id, row.previous_owner) for row in claimed]


def test_claims_due_rows_oldest_first_up_to_the_limit(engine: Engine, box: SecretBox) -> None:
    newest, oldest, not_due, middle = queue(engine, box, [1, 30, -5, 10])
    assert claim(engine, "a", 2) == [(oldest, None), (middle, None)]
    assert claim(engine, "b", 10) == [(newest, None)]  # leased rows are skipped
    assert claim(engine, "c", 10) == []  # not_due is not due yet
    later = NOW + dt.timedelta(minutes=6)  # every lease has expired, not_due is due
    assert [row_id for row_id, _ in claim(engine, "d", 10, later)] == [
        oldest,
        middle,
        newest,
        not_due,
    ]


def test_an_expired_lease_is_claimable_and_names_its_previous_owner(
    engine: Engine, box: SecretBox
) -> None:
    [row_id] = queue(engine, box, [5])
    assert claim(engine, "dead", 1) == [(row_id, None)]
    later = NOW + dt.timedelta(seconds=61)  # the 60 s lease has run out
    [(claimed_id, previous)] = claim(engine, "alive", 1, later)
    assert (claimed_id, previous) == (row_id, "dead")
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        assert row.lease_owner == "alive"
        assert row.lease_expires_at == later + dt.timedelta(seconds=60)


def test_a_zero_limit_claims_nothing(engine: Engine, box: SecretBox) -> None:
    queue(engine, box, [5])
    assert claim(engine, "a", 0) == []
    assert len(claim(engine, "a", 1)) == 1
