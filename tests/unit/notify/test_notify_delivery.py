"""Webhook delivery from the outbox: signed, retried with backoff, never lost, never sent
by two workers at once. Runs on SQLite and (with SYNCD_TEST_DATABASE_URL) Postgres."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pycronofy
import pytest
from sqlalchemy import Engine, select

from syncd.config import Settings
from syncd.notify.delivery import claim_due_messages, deliver_due, retry_delay
from syncd.notify.outbox import enqueue
from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine, session_scope
from syncd.store.models import OutboxMessage, utcnow
from syncd.store.tenants import create_application
from syncd.sync.daemon import SyncDaemon
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.store


@dataclass
class Tenant:
    application_id: str
    secret: str


class Clock:
    """Real time plus an offset, so tests jump over backoff delays instead of sleeping."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": ["127.0.0.1"],
            # generous enough that a healthy answer never times out on a loaded machine
            "webhook_timeout": 1.0,
            "webhook_retry_initial": 1.0,
            "webhook_retry_max_delay": 60.0,
            "webhook_retry_window": 86400.0,
            "webhook_concurrency": 4,
        }
    )


@pytest.fixture
def tenant(engine: Engine, box: SecretBox) -> Tenant:
    with session_scope(engine) as session:
        created = create_application(session, box, "acme")
        return Tenant(created.application.id, created.client_secret)


def queue(engine: Engine, tenant: Tenant, url: str, count: int, first: int = 0) -> list[str]:
    """``count`` change notifications to ``url``; returns their delivery ids."""
    ids = []
    with session_scope(engine) as session:
        for number in range(first, first + count):
            payload = {"notification": {"type": "change", "number": number}}
            ids.append(enqueue(session, tenant.application_id, "change", url, payload).delivery_id)
    return ids


def rows(engine: Engine) -> dict[str, OutboxMessage]:
    with session_scope(engine) as session:
        return {row.delivery_id: row for row in session.execute(select(OutboxMessage)).scalars()}


def deliver(
    engine: Engine, settings: Settings, box: SecretBox, clock: Clock, worker: str = "w1"
) -> int:
    return deliver_due(engine, settings, box, worker, limit=50, now=clock.now())


def test_the_stored_body_is_posted_signed_so_pycronofy_verifies_it(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    receiver.start()
    (delivery_id,) = queue(engine, tenant, receiver.url("/cronofy/hook"), 1)

    assert deliver(engine, webhook_settings, box, Clock()) == 1

    (received,) = receiver.accepted
    stored = rows(engine)[delivery_id]
    assert received.path == "/cronofy/hook"
    assert received.body == stored.body.encode()
    assert received.headers["content-type"] == "application/json; charset=utf-8"
    assert received.delivery_id == delivery_id
    signature = received.headers["cronofy-hmac-sha256"]
    body = received.body.decode()
    assert pycronofy.Client(client_secret=tenant.secret).hmac_valid(signature, body)
    assert not pycronofy.Client(client_secret="whsec_other").hmac_valid(signature, body)
    assert stored.delivered_at is not None and stored.attempts == 1


def test_receiver_refusing_failing_and_timing_out_then_up_gets_every_notification(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    clock = Clock()
    ids = queue(engine, tenant, receiver.url(), 3)

    # Down: nothing listens on the port.
    assert deliver(engine, webhook_settings, box, clock) == 0
    assert all("ConnectError" in (row.last_error or "") for row in rows(engine).values())
    ids += queue(engine, tenant, receiver.url(), 2, first=3)  # queued during the outage

    # Up but failing.
    receiver.mode, receiver.status = "error", 500
    receiver.start()
    clock.advance(120)
    assert deliver(engine, webhook_settings, box, clock) == 0
    assert {row.last_error for row in rows(engine).values()} == {"HTTP 500"}

    # Up but too slow to answer within webhook_timeout.
    receiver.mode, receiver.delay = "slow", 3.0
    clock.advance(120)
    assert deliver(engine, webhook_settings, box, clock) == 0
    assert all("timed out" in (row.last_error or "") for row in rows(engine).values())
    ids += queue(engine, tenant, receiver.url(), 1, first=5)

    # Healthy again: every notification arrives.
    receiver.mode = "ok"
    clock.advance(120)
    assert deliver(engine, webhook_settings, box, clock) == len(ids)

    stored = rows(engine)
    assert all(row.delivered_at is not None for row in stored.values())
    assert set(receiver.accepted_ids()) == set(ids)
    for received in receiver.accepted:  # duplicates (late answers) carry the same id and body
        assert received.body == stored[received.delivery_id].body.encode()
    # refused, 500, timeout, ok; the later ones joined the outage part-way through
    assert [stored[i].attempts for i in ids] == [4, 4, 4, 3, 3, 1]
    clock.advance(3600)
    assert deliver(engine, webhook_settings, box, clock) == 0  # delivered rows are done


def test_a_restart_during_an_outage_loses_nothing(
    database_url: str,
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    clock = Clock()
    ids = queue(engine, tenant, receiver.url(), 4)
    assert deliver(engine, webhook_settings, box, clock, worker="before-restart") == 0
    engine.dispose()

    restarted = make_engine(database_url)
    try:
        receiver.start()
        clock.advance(120)
        assert deliver(restarted, webhook_settings, box, clock, worker="after-restart") == 4
    finally:
        restarted.dispose()
    assert Counter(receiver.accepted_ids()) == Counter(ids)


def test_rows_leased_by_a_worker_that_died_are_delivered_once_its_lease_expires(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    receiver.start()
    clock = Clock()
    ids = queue(engine, tenant, receiver.url(), 3)
    leased = claim_due_messages(engine, "dead-worker", 10, lease_for=600, now=clock.now())
    assert {message.delivery_id for message in leased} == set(ids)

    assert deliver(engine, webhook_settings, box, clock, worker="survivor") == 0  # still leased
    clock.advance(601)
    assert deliver(engine, webhook_settings, box, clock, worker="survivor") == 3
    assert Counter(receiver.accepted_ids()) == Counter(ids)


def test_two_workers_never_send_the_same_row(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    receiver.start()
    receiver.mode, receiver.delay = "slow", 0.02  # slow enough for the workers to overlap
    ids = queue(engine, tenant, receiver.url(), 40)
    settings = webhook_settings.model_copy(update={"webhook_timeout": 5.0})
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            while deliver_due(engine, settings, box, worker, limit=5):
                pass
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert Counter(receiver.accepted_ids()) == Counter(ids)  # each exactly once


@pytest.mark.parametrize("status", [302, 404, 500, 503])
def test_any_answer_but_2xx_is_retried_and_redirects_are_not_followed(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
    status: int,
) -> None:
    receiver.start()
    receiver.mode, receiver.status = "error", status
    queue(engine, tenant, receiver.url(), 1)
    clock = Clock()
    before = clock.now()

    assert deliver(engine, webhook_settings, box, clock) == 0

    (row,) = rows(engine).values()
    assert row.last_error == f"HTTP {status}"
    assert row.delivered_at is None and row.abandoned_at is None
    assert row.next_attempt_at is not None
    delay = (row.next_attempt_at - before).total_seconds()
    assert 0.5 <= delay <= 1.5  # webhook_retry_initial (1 s) with jitter
    assert receiver.requests == 1


def test_backoff_doubles_with_jitter_up_to_the_cap(webhook_settings: Settings) -> None:
    settings = webhook_settings.model_copy(
        update={"webhook_retry_initial": 10.0, "webhook_retry_max_delay": 3600.0}
    )
    rng = random.Random(7)
    for attempts, step in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (200, 3600)]:
        delays = [retry_delay(attempts, settings, rng) for _ in range(50)]
        assert all(step / 2 <= delay <= step for delay in delays)
        assert len(set(delays)) > 1  # jittered


def test_default_retries_span_more_than_a_day() -> None:
    settings = Settings()
    assert settings.webhook_retry_window >= 24 * 3600
    worst_case_gap = settings.webhook_retry_max_delay
    assert worst_case_gap < settings.webhook_retry_window


def test_a_delivery_failing_past_the_retry_window_is_abandoned_and_kept(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue(engine, tenant, receiver.url(), 1)  # receiver down throughout
    clock = Clock()
    clock.advance(webhook_settings.webhook_retry_window - 100)
    deliver(engine, webhook_settings, box, clock)
    (row,) = rows(engine).values()
    assert row.abandoned_at is None  # still inside the window: retried

    clock.advance(200)
    with caplog.at_level(logging.ERROR, logger="syncd.notify.delivery"):
        deliver(engine, webhook_settings, box, clock)
    (row,) = rows(engine).values()
    assert row.abandoned_at is not None and row.delivered_at is None
    assert row.attempts == 2
    assert "abandoned" in caplog.text

    receiver.start()
    clock.advance(7 * 86400)
    assert deliver(engine, webhook_settings, box, clock) == 0
    assert receiver.requests == 0


def test_a_url_that_is_no_longer_allowed_is_not_requested(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    receiver.start()
    queue(engine, tenant, receiver.url(), 1)
    locked_down = webhook_settings.model_copy(update={"webhook_allowed_hosts": []})

    assert deliver(engine, locked_down, box, Clock()) == 0

    (row,) = rows(engine).values()
    assert (row.last_error or "").startswith("refused: the URL must use https")
    assert receiver.requests == 0


def test_a_stopping_worker_hands_unsent_rows_back_untouched(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    receiver.start()
    queue(engine, tenant, receiver.url(), 3)
    stop = threading.Event()
    stop.set()

    assert deliver_due(engine, webhook_settings, box, "w1", stop=stop) == 0

    assert all(
        (row.attempts, row.lease_owner, row.delivered_at) == (0, None, None)
        for row in rows(engine).values()
    )
    assert deliver_due(engine, webhook_settings, box, "w2") == 3


def test_logs_name_neither_secrets_nor_url_paths(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = receiver.url("/hooks/private-path?token=receiver-secret")
    queue(engine, tenant, url, 1)
    clock = Clock()
    with caplog.at_level(logging.DEBUG):
        deliver(engine, webhook_settings, box, clock)  # refused
        receiver.start()
        clock.advance(120)
        deliver(engine, webhook_settings, box, clock)  # delivered
    assert "127.0.0.1" in caplog.text  # the receiver's origin is named
    for secret in (tenant.secret, "private-path", "receiver-secret"):
        assert secret not in caplog.text
    assert receiver.accepted[0].path == "/hooks/private-path?token=receiver-secret"


def test_the_daemon_delivers_queued_notifications(
    engine: Engine,
    webhook_settings: Settings,
    box: SecretBox,
    tenant: Tenant,
    receiver: WebhookReceiver,
) -> None:
    receiver.start()
    ids = queue(engine, tenant, receiver.url(), 3)
    daemon = SyncDaemon(engine, webhook_settings, box)
    daemon.start()
    try:
        deadline = time.monotonic() + 15
        while set(receiver.accepted_ids()) != set(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daemon.stop()
    assert Counter(receiver.accepted_ids()) == Counter(ids)
    assert all(row.delivered_at is not None for row in rows(engine).values())
