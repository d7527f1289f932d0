"""``conferencing_assigned``/``conferencing_failing`` webhooks for a managed event.

They are enqueued in the transaction that changes the row's conferencing state, so a
webhook exists exactly when the state change does; a deterministic ``delivery_id`` makes
enqueuing them twice (a retried commit) a no-op.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session

from syncd.conferencing.record import MeetingRecord
from syncd.notify.outbox import Outgoing, enqueue_new
from syncd.store.models import ManagedEvent

__all__ = ["notify_subscribers", "subscriber_deliveries"]


def subscriber_deliveries(row: ManagedEvent, kind: str, view: dict[str, Any]) -> list[Outgoing]:
    """``kind`` for each subscription that asked for it, each under its stable id."""
    payload = {"notification": {"type": kind}, "event": view}
    record = MeetingRecord.from_json(row.conferencing)
    marker = (record.join_url or record.failure or "") if record else ""
    deliveries: list[Outgoing] = []
    for subscription in row.request.get("subscriptions") or []:
        if kind not in subscription.get("interactions", []):
            continue
        uri = subscription["uri"]
        seed = f"{row.id}|{row.created_at.timestamp()}|{kind}|{marker}|{uri}"
        delivery_id = "dlv_" + hashlib.sha256(seed.encode()).hexdigest()[:32]
        deliveries.append(Outgoing(row.application_id, kind, uri, payload, delivery_id))
    return deliveries


def notify_subscribers(
    session: Session, row: ManagedEvent, kind: str, view: dict[str, Any]
) -> None:
    """Enqueue ``kind`` for each subscription that asked for it, idempotently."""
    enqueue_new(session, subscriber_deliveries(row, kind, view))
