"""The persistent outbox: a webhook is a row before it is a request.

Whatever wants to notify the caller's application (a conferencing assignment, a channel
change, a disconnected profile) adds a row in the same transaction as the state change
that caused it, so a crash can neither lose the notification nor send one for a change
that was rolled back. The delivery worker (``syncd.notify.delivery``) sends the rows; it
is woken as soon as the transaction commits (``syncd.store.wakeups``), not at its next poll.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from syncd.store.models import OutboxMessage, utcnow
from syncd.store.wakeups import OUTBOX, signal_on_commit

#: Header carrying base64(HMAC-SHA256(secret, raw body)), as Cronofy sends it.
SIGNATURE_HEADER = "Cronofy-HMAC-SHA256"


def enqueue(
    session: Session,
    application_id: str,
    kind: str,
    url: str,
    payload: dict[str, Any],
    delivery_id: str | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    """Queue one delivery; ``delivery_id`` lets a retried caller enqueue idempotently.

    ``not_before`` holds it back until then (see :func:`hold_until` and :func:`release`)."""
    message = _message(
        application_id, kind, url, payload, delivery_id or f"dlv_{uuid.uuid4().hex}", not_before
    )
    session.add(message)
    session.flush()
    # The deliverer wakes when this commits (and other daemons, through Postgres NOTIFY).
    signal_on_commit(session, OUTBOX)
    return message


@dataclass(frozen=True)
class Outgoing:
    """One delivery to queue under a stable id (:func:`enqueue_new`)."""

    application_id: str
    kind: str
    url: str
    payload: dict[str, Any]
    delivery_id: str


def enqueue_new(session: Session, outgoing: Sequence[Outgoing]) -> int:
    """Queue each delivery whose id is neither queued (or sent) already nor earlier in
    ``outgoing``; returns how many were queued.

    One statement finds the ids known already, and the new rows are inserted together at
    commit, so a batch of finished events pays one lookup instead of a lookup and a
    flush per webhook."""
    ids = {item.delivery_id for item in outgoing}
    if not ids:
        return 0
    known = set(
        session.execute(
            select(col(OutboxMessage.delivery_id)).where(col(OutboxMessage.delivery_id).in_(ids))
        ).scalars()
    )
    queued = 0
    for item in outgoing:
        if item.delivery_id in known:
            continue
        known.add(item.delivery_id)
        session.add(
            _message(item.application_id, item.kind, item.url, item.payload, item.delivery_id)
        )
        queued += 1
    if queued:
        signal_on_commit(session, OUTBOX)
    return queued


def _message(
    application_id: str,
    kind: str,
    url: str,
    payload: dict[str, Any],
    delivery_id: str,
    not_before: dt.datetime | None = None,
) -> OutboxMessage:
    return OutboxMessage(
        delivery_id=delivery_id,
        application_id=application_id,
        kind=kind,
        url=url,
        body=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        next_attempt_at=not_before or utcnow(),
    )


def enqueue_once(
    session: Session,
    application_id: str,
    kind: str,
    url: str,
    payload: dict[str, Any],
    delivery_id: str,
    not_before: dt.datetime | None = None,
) -> OutboxMessage | None:
    """Queue a delivery unless one with ``delivery_id`` is already queued (or sent).

    How a notification is coalesced: every transaction that may owe it enqueues it under
    the same id, and the first to commit wins (returns None when it was there already;
    a ``not_before`` then extends the hold of one not yet attempted)."""
    existing = session.execute(
        select(OutboxMessage).where(col(OutboxMessage.delivery_id) == delivery_id)
    ).scalar_one_or_none()
    if existing is None:
        return enqueue(session, application_id, kind, url, payload, delivery_id, not_before)
    if not_before is not None and _held(existing):
        existing.next_attempt_at = max(not_before, existing.next_attempt_at or not_before)
        session.add(existing)
    return None


def _held(message: OutboxMessage) -> bool:
    return message.delivered_at is None and message.abandoned_at is None and not message.attempts


def release(session: Session, delivery_id_prefix: str) -> int:
    """Make held, never attempted rows whose id starts with the prefix due now."""
    now = utcnow()
    released = 0
    for message in session.execute(
        select(OutboxMessage).where(
            col(OutboxMessage.delivery_id).startswith(delivery_id_prefix, autoescape=True),
            col(OutboxMessage.delivered_at).is_(None),
            col(OutboxMessage.attempts) == 0,
            col(OutboxMessage.next_attempt_at) > now,
        )
    ).scalars():
        message.next_attempt_at = now
        session.add(message)
        released += 1
    return released


def sign(secret: str | Sequence[str], body: bytes) -> str:
    """The ``Cronofy-HMAC-SHA256`` value for ``body``: one signature per secret, joined
    with commas (no spaces), which is how pycronofy's ``hmac_valid`` and the npm SDK's
    ``hmacValid`` read several during a key rotation."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return ",".join(
        base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
        for key in secrets
    )
