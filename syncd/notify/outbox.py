"""The persistent outbox: a webhook is a row before it is a request.

Whatever wants to notify the caller's application (a conferencing assignment, a channel
change, a disconnected profile) adds a row in the same transaction as the state change
that caused it, so a crash can neither lose the notification nor send one for a change
that was rolled back. The delivery worker (``syncd.notify.delivery``) sends the rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from syncd.store.models import OutboxMessage, utcnow

#: Header carrying base64(HMAC-SHA256(secret, raw body)), as Cronofy sends it.
SIGNATURE_HEADER = "Cronofy-HMAC-SHA256"


def enqueue(
    session: Session,
    application_id: str,
    kind: str,
    url: str,
    payload: dict[str, Any],
    delivery_id: str | None = None,
) -> OutboxMessage:
    """Queue one delivery; ``delivery_id`` lets a retried caller enqueue idempotently."""
    message = OutboxMessage(
        delivery_id=delivery_id or f"dlv_{uuid.uuid4().hex}",
        application_id=application_id,
        kind=kind,
        url=url,
        body=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def enqueue_once(
    session: Session,
    application_id: str,
    kind: str,
    url: str,
    payload: dict[str, Any],
    delivery_id: str,
) -> OutboxMessage | None:
    """Queue a delivery unless one with ``delivery_id`` is already queued (or sent).

    How a notification is coalesced: every transaction that may owe it enqueues it under
    the same id, and the first to commit wins (returns None when it was there already)."""
    existing = session.execute(
        select(col(OutboxMessage.id)).where(col(OutboxMessage.delivery_id) == delivery_id)
    ).first()
    if existing is not None:
        return None
    return enqueue(session, application_id, kind, url, payload, delivery_id)


def sign(secret: str, body: bytes) -> str:
    """The ``Cronofy-HMAC-SHA256`` value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
