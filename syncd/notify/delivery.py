"""The delivery worker: sends outbox rows until each is acknowledged or too old.

- A batch of due rows is leased (``syncd.store.leasing``: ``FOR UPDATE SKIP LOCKED`` on
  Postgres, like profile leases) and sent outside any transaction, so a slow receiver
  holds no database locks and two workers never send the same row at the same time. A
  worker that dies keeps its lease only until it expires; then the rows are due again.
- The exact stored body is POSTed with ``Content-Type: application/json; charset=utf-8``,
  the ``Cronofy-HMAC-SHA256`` signature (base64 HMAC-SHA256 of the body under the
  application's client_secret, as Cronofy signs; one per valid key, comma-separated,
  during a key rotation; or under its webhook secret if it chose that) and the
  row's stable ``Syncd-Delivery-Id`` (the same on every attempt, so receivers can
  deduplicate: delivery is at least once).
- Any 2xx is success. Anything else (connection refused, timeout, 3xx, 4xx, 5xx, a URL
  that now resolves to a private address) schedules a retry with exponential backoff and
  jitter, until ``webhook_retry_window`` after the row was queued; a failure after that
  marks the row abandoned. Rows are never deleted, so operators can inspect or requeue
  them. Secrets, bodies and URL paths are never logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from syncd.config import Settings
from syncd.notify.outbox import SIGNATURE_HEADER, sign
from syncd.notify.urls import url_origin, webhook_target
from syncd.store.crypto import SecretBox
from syncd.store.db import read_only, session_scope
from syncd.store.leasing import claim_due, lease_table
from syncd.store.models import Application, OutboxMessage, utcnow
from syncd.store.tenants import signing_secrets

log = logging.getLogger(__name__)

#: Header carrying the row's stable id; the same on every attempt.
DELIVERY_ID_HEADER = "Syncd-Delivery-Id"
#: Header carrying the 1-based attempt number (informational).
ATTEMPT_HEADER = "Syncd-Delivery-Attempt"
CONTENT_TYPE = "application/json; charset=utf-8"
USER_AGENT = "syncd-webhooks/1"
#: Extra seconds a lease lasts beyond the worst-case time to send its batch.
LEASE_MARGIN_SECONDS = 60.0

_sending = threading.local()


class _RedactWebhookUrls(logging.Filter):
    """httpx logs each request's full URL; a webhook URL's path and query often carry the
    receiver's secret, so while this module sends, only the origin is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_sending, "active", False) and isinstance(record.args, tuple):
            record.args = tuple(
                url_origin(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactWebhookUrls())


@dataclass(frozen=True)
class Leased:
    """What a worker needs to send one row (detached from the session)."""

    id: int
    delivery_id: str
    application_id: str
    url: str
    body: str
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True)
class AttemptResult:
    delivered: bool
    error: str | None = None


def retry_delay(attempts: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Seconds until the next attempt after ``attempts`` failures: exponential, capped,
    with "equal jitter" (between half and all of the step) so receivers coming back up are
    not hit by every sender at once."""
    exponent = min(max(attempts - 1, 0), 60)
    step = min(settings.webhook_retry_max_delay, settings.webhook_retry_initial * 2**exponent)
    return float(step / 2 + (rng or random).uniform(0, step / 2))


def lease_seconds(settings: Settings, limit: int) -> float:
    """Long enough to send a whole batch even if every attempt times out."""
    # Worst case: every row goes to one host that times out each attempt.
    parallel = min(settings.webhook_concurrency, settings.webhook_per_host_concurrency)
    rounds = math.ceil(max(limit, 1) / parallel)
    return rounds * settings.webhook_timeout + LEASE_MARGIN_SECONDS


def claim_due_messages(
    engine: Engine,
    worker_id: str,
    limit: int,
    lease_for: float,
    now: dt.datetime | None = None,
) -> list[Leased]:
    """Lease up to ``limit`` undelivered, unabandoned rows whose next attempt is due."""
    if limit <= 0:
        return []
    now = now or utcnow()
    with session_scope(engine) as session:
        claimed = claim_due(
            session,
            lease_table(OutboxMessage),
            due=[
                col(OutboxMessage.delivered_at).is_(None),
                col(OutboxMessage.abandoned_at).is_(None),
                col(OutboxMessage.next_attempt_at).is_not(None),
                col(OutboxMessage.next_attempt_at) <= now,
            ],
            order_by=["next_attempt_at", "id"],
            worker_id=worker_id,
            limit=limit,
            now=now,
            lease_seconds=lease_for,
        )
        if not claimed:
            return []
        rows = session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_([row.id for row in claimed]))
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        ).scalars()
        return [
            Leased(
                id=int(row.id or 0),
                delivery_id=row.delivery_id,
                application_id=row.application_id,
                url=row.url,
                body=row.body,
                attempts=row.attempts,
                created_at=row.created_at,
            )
            for row in rows
        ]


def _secrets(engine: Engine, box: SecretBox, application_ids: set[str]) -> dict[str, list[str]]:
    with session_scope(read_only(engine)) as session:  # on SQLite: no wait for writers
        applications = session.execute(
            select(Application).where(col(Application.id).in_(application_ids))
        ).scalars()
        return {
            application.id: signing_secrets(box, session, application)
            for application in applications
        }


def attempt(
    client: httpx.Client, settings: Settings, message: Leased, secret: str | list[str]
) -> AttemptResult:
    """POST one row once. Never raises; the error text names no secret, path or query."""
    try:
        target = webhook_target(message.url, settings)
    except ValueError as error:
        return AttemptResult(False, f"refused: {error}")
    body = message.body.encode("utf-8")
    headers = {
        "Content-Type": CONTENT_TYPE,
        SIGNATURE_HEADER: sign(secret, body),
        DELIVERY_ID_HEADER: message.delivery_id,
        ATTEMPT_HEADER: str(message.attempts + 1),
        "User-Agent": USER_AGENT,
        **target.headers,
    }
    _sending.active = True
    try:
        # Streamed so a receiver's (possibly huge) response body is never read.
        # To the address that was checked, not a second DNS answer (target.url).
        with client.stream(
            "POST", target.url, content=body, headers=headers, extensions=target.extensions
        ) as response:
            status = response.status_code
    except httpx.TimeoutException:
        return AttemptResult(False, f"timed out after {settings.webhook_timeout:g} s")
    except httpx.HTTPError as error:
        return AttemptResult(False, f"{type(error).__name__}: could not reach the receiver")
    finally:
        _sending.active = False
    if 200 <= status < 300:
        return AttemptResult(True)
    return AttemptResult(False, f"HTTP {status}")


def _record(
    session: Session,
    settings: Settings,
    worker_id: str,
    message: Leased,
    result: AttemptResult | None,
    now: dt.datetime,
) -> None:
    """Store the attempt's outcome (``None``: not attempted, just hand the row back),
    unless our lease was taken over meanwhile."""
    if result is None:
        _update_if_leased(
            session, worker_id, message, {"lease_owner": None, "lease_expires_at": None}
        )
        return
    values: dict[str, object] = {
        "attempts": message.attempts + 1,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": result.error,
    }
    origin = url_origin(message.url)
    if result.delivered:
        values["delivered_at"] = now
        log.info("delivered %s to %s", message.delivery_id, origin)
    elif (now - message.created_at).total_seconds() >= settings.webhook_retry_window:
        values["abandoned_at"] = now
        values["next_attempt_at"] = None
        log.error(
            "abandoned %s to %s after %d attempts over %.0f s: %s",
            message.delivery_id,
            origin,
            message.attempts + 1,
            (now - message.created_at).total_seconds(),
            result.error,
        )
    else:
        delay = retry_delay(message.attempts + 1, settings)
        values["next_attempt_at"] = now + dt.timedelta(seconds=delay)
        log.warning(
            "delivery %s to %s failed (attempt %d), retrying in %.0f s: %s",
            message.delivery_id,
            origin,
            message.attempts + 1,
            delay,
            result.error,
        )
    _update_if_leased(session, worker_id, message, values)


def _update_if_leased(
    session: Session, worker_id: str, message: Leased, values: dict[str, object]
) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.lease_owner) == worker_id)
        .values(**values)
    )


def deliver_due(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    worker_id: str,
    limit: int = 50,
    now: dt.datetime | None = None,
    client: httpx.Client | None = None,
    stop: threading.Event | None = None,
    leased: list[int] | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """Lease and send up to ``limit`` due rows; returns how many were delivered.

    ``pool`` sends them (the delivery loop keeps one; without it, one is made for the
    call: a pool per pass started and ended threads on every pass of a burst).

    ``now`` fixes the clock (tests move it forward instead of sleeping through backoff).
    Once ``stop`` is set, rows not yet sent are handed back untouched (a quick shutdown).
    ``leased``, if given, has the number of rows leased appended (delivered or not).
    """
    messages = claim_due_messages(engine, worker_id, limit, lease_seconds(settings, limit), now)
    if leased is not None:
        leased.append(len(messages))
    if not messages:
        return 0
    secrets = _secrets(engine, box, {message.application_id for message in messages})
    own_client = client is None
    http = client or httpx.Client(
        timeout=settings.webhook_timeout, follow_redirects=False, trust_env=False
    )
    try:
        results = _send_all(http, settings, messages, secrets, stop, pool)
    finally:
        if own_client:
            http.close()
    finished = now or utcnow()
    with session_scope(engine) as session:  # one write transaction for the whole batch
        for message, result in zip(messages, results, strict=True):
            _record(session, settings, worker_id, message, result, finished)
    return sum(1 for result in results if result is not None and result.delivered)


def _send_all(
    client: httpx.Client,
    settings: Settings,
    leased: Sequence[Leased],
    secrets: dict[str, list[str]],
    stop: threading.Event | None,
    pool: ThreadPoolExecutor | None = None,
) -> list[AttemptResult | None]:
    """One result per row, ``None`` for rows left unsent because ``stop`` was set.

    At most ``webhook_concurrency`` requests at once, and at most
    ``webhook_per_host_concurrency`` of them to any one host (a slow receiver holds only
    its own share of the pool)."""
    hosts = {url_origin(message.url) for message in leased}
    per_host = {
        host: threading.BoundedSemaphore(settings.webhook_per_host_concurrency) for host in hosts
    }

    def send(message: Leased) -> AttemptResult | None:
        if stop is not None and stop.is_set():
            return None
        secret = secrets.get(message.application_id)
        if secret is None:
            return AttemptResult(False, "the application no longer exists")
        with per_host[url_origin(message.url)]:
            if stop is not None and stop.is_set():
                return None
            return attempt(client, settings, message, secret)

    workers = min(settings.webhook_concurrency, len(leased))
    if workers <= 1:
        return [send(message) for message in leased]
    # Round-robin over hosts, so one host's backlog does not occupy every worker first.
    order = sorted(range(len(leased)), key=_rank_by_host(leased))
    results: list[AttemptResult | None] = [None] * len(leased)
    if pool is not None:
        # The pool is the loop's: as wide as webhook_concurrency.
        answers = pool.map(send, [leased[i] for i in order])
        for index, result in zip(order, answers, strict=True):
            results[index] = result
        return results
    with ThreadPoolExecutor(workers, thread_name_prefix="webhook") as own:
        for index, result in zip(order, own.map(send, [leased[i] for i in order]), strict=True):
            results[index] = result
    return results


def _rank_by_host(leased: Sequence[Leased]) -> Callable[[int], tuple[int, int]]:
    """Sort key: the n-th row of each host before any host's (n+1)-th, else queue order."""
    seen: dict[str, int] = {}
    rank: list[tuple[int, int]] = []
    for index, message in enumerate(leased):
        host = url_origin(message.url)
        rank.append((seen.get(host, 0), index))
        seen[host] = seen.get(host, 0) + 1
    return rank.__getitem__
