"""``enqueue_new``: a batch of deliveries under stable ids, queued with one lookup.

The managed-event writer's finishing transaction queues the webhooks of a whole batch of
events at once; each id is queued at most once, whether it was queued by an earlier
transaction or appears twice in the batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from syncd.notify.outbox import Outgoing, enqueue, enqueue_new
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import OutboxMessage
from syncd.store.tenants import create_application
from syncd.store.wakeups import OUTBOX


@pytest.fixture
def application_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        return create_application(session, box, "outbox", []).application.id


def outgoing(application_id: str, delivery_id: str) -> Outgoing:
    return Outgoing(
        application_id, "conferencing_assigned", "https://example.com/hook", {"n": 1}, delivery_id
    )


def queued_ids(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(session.execute(select(OutboxMessage.delivery_id)).scalars())  # type: ignore[call-overload]


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_every_new_id_is_queued(engine: Engine, application_id: str) -> None:
    with session_scope(engine) as session:
        queued = enqueue_new(session, [outgoing(application_id, f"dlv_{n}") for n in range(3)])
    assert queued == 3
    assert queued_ids(engine) == ["dlv_0", "dlv_1", "dlv_2"]


def test_an_id_queued_by_an_earlier_transaction_is_not_queued_again(
    engine: Engine, application_id: str
) -> None:
    with session_scope(engine) as session:
        enqueue(session, application_id, "conferencing_assigned", "https://e.com", {}, "dlv_0")
    with session_scope(engine) as session:
        queued = enqueue_new(session, [outgoing(application_id, "dlv_0")])
    assert queued == 0
    assert queued_ids(engine) == ["dlv_0"]


def test_an_id_twice_in_one_batch_is_queued_once(engine: Engine, application_id: str) -> None:
    with session_scope(engine) as session:
        queued = enqueue_new(
            session, [outgoing(application_id, "dlv_0"), outgoing(application_id, "dlv_0")]
        )
    assert queued == 1
    assert queued_ids(engine) == ["dlv_0"]


def test_a_batch_reads_the_outbox_once(
    engine: Engine, application_id: str, statements: list[str]
) -> None:
    with session_scope(engine) as session:
        enqueue_new(session, [outgoing(application_id, f"dlv_{n}") for n in range(10)])
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "outbox" in s]
    assert len(reads) == 1


def test_the_deliverer_wakes_when_the_batch_commits(engine: Engine, application_id: str) -> None:
    woken = OUTBOX.subscribe()
    try:
        with session_scope(engine) as session:
            enqueue_new(session, [outgoing(application_id, "dlv_0")])
            assert not woken.is_set()  # not before the commit
        assert woken.is_set()
    finally:
        OUTBOX.unsubscribe(woken)


def test_nothing_new_wakes_nobody(engine: Engine, application_id: str) -> None:
    with session_scope(engine) as session:
        enqueue(session, application_id, "conferencing_assigned", "https://e.com", {}, "dlv_0")
    woken = OUTBOX.subscribe()
    try:
        with session_scope(engine) as session:
            enqueue_new(session, [outgoing(application_id, "dlv_0")])
        assert not woken.is_set()
    finally:
        OUTBOX.unsubscribe(woken)
