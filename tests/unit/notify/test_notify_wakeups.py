"""Delivery that keeps up: an enqueue wakes the deliverer at commit (in process, and on
Postgres through LISTEN/NOTIFY), sends run concurrently within a per-host bound, and a
crash mid-delivery re-delivers with the same id. Runs on SQLite and (with
SYNCD_TEST_DATABASE_URL) Postgres."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from syncd.config import Settings
from syncd.notify import delivery
from syncd.notify.deliverer import DeliveryLoop
from syncd.notify.delivery import deliver_due
from syncd.notify.outbox import enqueue
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import utcnow
from syncd.store.tenants import create_application
from syncd.store.wakeups import OUTBOX, Wakeup, listen
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.store


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": ["127.0.0.1"],
            "webhook_timeout": 5.0,
            "webhook_retry_initial": 1.0,
            "webhook_concurrency": 8,
            "webhook_per_host_concurrency": 3,
        }
    )


@pytest.fixture
def application_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        return create_application(session, box, "acme").application.id


def queue(engine: Engine, application_id: str, url: str, count: int) -> list[str]:
    with session_scope(engine) as session:
        return [
            enqueue(session, application_id, "change", url, {"n": number}).delivery_id
            for number in range(count)
        ]


def wait_until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_a_committed_enqueue_wakes_the_outbox_and_a_rolled_back_one_does_not(
    engine: Engine, application_id: str, receiver: WebhookReceiver
) -> None:
    OUTBOX.wait(0)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        enqueue(session, application_id, "change", receiver.url(), {"n": 0})
        raise RuntimeError("rolled back")
    assert not OUTBOX.wait(0)

    with session_scope(engine) as session:
        enqueue(session, application_id, "change", receiver.url(), {"n": 1})
        enqueue(session, application_id, "change", receiver.url(), {"n": 2})
        assert not OUTBOX.wait(0)  # not before the commit
    assert OUTBOX.wait(0)


def test_enqueue_wakes_the_deliverer_without_waiting_for_the_poll_interval(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    application_id: str,
    receiver: WebhookReceiver,
) -> None:
    stop = threading.Event()
    loop = DeliveryLoop(
        engine, lambda: webhook_settings, lambda: box, "w1", stop, poll_seconds=3600
    )
    loop.start()
    try:
        assert wait_until(lambda: loop.passes >= 1, 10)  # the first (empty) pass, then asleep
        passes = loop.passes
        ids = queue(engine, application_id, receiver.url(), 3)
        # Only a wake-up can deliver these: the next poll is an hour away.
        assert wait_until(lambda: set(receiver.accepted_ids()) == set(ids), 10)
        assert wait_until(lambda: loop.passes > passes, 10)  # counted once recorded
    finally:
        loop.stop(timeout=10)


def test_every_waiter_in_the_process_is_woken() -> None:
    wakeup = Wakeup("test_channel")
    first, second = wakeup.subscribe(), wakeup.subscribe()
    wakeup.set()
    assert first.is_set() and second.is_set()
    wakeup.unsubscribe(second)
    first.clear()
    second.clear()
    wakeup.set()
    assert first.is_set() and not second.is_set()


def test_a_burst_is_drained_in_back_to_back_passes(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    application_id: str,
    receiver: WebhookReceiver,
) -> None:
    ids = queue(engine, application_id, receiver.url(), 100)  # > one batch of 8 x 4
    loop = DeliveryLoop(
        engine, lambda: webhook_settings, lambda: box, "w1", threading.Event(), poll_seconds=3600
    )
    assert loop.drain() == 100
    assert Counter(receiver.accepted_ids()) == Counter(ids)


def test_at_most_the_per_host_limit_of_requests_go_to_one_host_at_once(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    application_id: str,
    receiver: WebhookReceiver,
) -> None:
    other = WebhookReceiver()
    other.start()
    try:
        receiver.mode = other.mode = "slow"
        receiver.delay = other.delay = 1.0  # long enough to overlap on a loaded machine
        ids = queue(engine, application_id, receiver.url(), 9)
        ids += queue(engine, application_id, other.url(), 9)

        assert deliver_due(engine, webhook_settings, box, "w1", limit=50) == 18

        assert Counter(receiver.accepted_ids() + other.accepted_ids()) == Counter(ids)
        # Concurrent (more than one at a time), never more than 3 per host, and the
        # other host was served alongside rather than after.
        assert 1 < receiver.max_in_flight <= 3
        assert 1 < other.max_in_flight <= 3
    finally:
        other.stop()


def test_a_crash_after_sending_and_before_recording_redelivers_with_the_same_id(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    application_id: str,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (delivery_id,) = queue(engine, application_id, receiver.url(), 1)

    def crash(*_args: object) -> None:
        raise SystemExit("killed between the POST and recording it")

    with monkeypatch.context() as patched:
        patched.setattr(delivery, "_record", crash)
        with pytest.raises(SystemExit):
            deliver_due(engine, webhook_settings, box, "dead-worker", limit=10)
    assert receiver.accepted_ids() == [delivery_id]

    # Still leased by the dead worker: nobody sends it until the lease expires.
    assert deliver_due(engine, webhook_settings, box, "w2", limit=10) == 0
    later = utcnow() + dt.timedelta(hours=1)
    assert deliver_due(engine, webhook_settings, box, "w2", limit=10, now=later) == 1
    assert receiver.accepted_ids() == [delivery_id, delivery_id]
    assert {item.headers["syncd-delivery-attempt"] for item in receiver.accepted} == {"1"}


def test_listen_notify_wakes_another_listener_on_postgres(
    engine: Engine, application_id: str, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is Postgres only (SQLite has one daemon)")
    # A channel of this test's own: the other tests' outboxes notify on the same server.
    monkeypatch.setattr(OUTBOX, "channel", f"{OUTBOX.channel}_{secrets.token_hex(4)}")
    # Another daemon's wakeup: the same channel, reached only through the server.
    elsewhere = Wakeup(OUTBOX.channel)
    stop = threading.Event()
    thread = listen(engine, elsewhere, stop)
    assert thread is not None
    try:
        time.sleep(0.5)  # LISTEN registered
        elsewhere.wait(0)
        with pytest.raises(RuntimeError), session_scope(engine) as session:
            enqueue(session, application_id, "change", receiver.url(), {"n": 0})
            raise RuntimeError("rolled back")
        assert not elsewhere.wait(1.0)
        queue(engine, application_id, receiver.url(), 1)
        assert elsewhere.wait(5.0)
    finally:
        stop.set()
        thread.join(5)
