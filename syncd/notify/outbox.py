"""The persistent outbox: a webhook is a row before it is a request.

Whatever wants to notify the caller's application (a conferencing assignment, a channel
change, a disconnected profile) adds a row in the same transaction as the state change
that caused it, so a crash can neither lose the notification nor send one for a change
that was rolled back. The delivery worker (``syncd.notify.delivery``) sends the rows; it
is woken as soon as the transaction commits (``syncd.store.wakeups``), not at its next poll.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from sqlmodel import Session

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
    # The deliverer wakes when this commits (and other daemons, through Postgres NOTIFY).
    signal_on_commit(session, OUTBOX)
    return message


def sign(secret: str, body: bytes) -> str:
    """The ``Cronofy-HMAC-SHA256`` value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
