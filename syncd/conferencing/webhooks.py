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
from syncd.notify.outbox import enqueue
from syncd.store.managed_worker import outbox_delivery_exists
from syncd.store.models import ManagedEvent

__all__ = ["notify_subscribers"]


def notify_subscribers(
    session: Session, row: ManagedEvent, kind: str, view: dict[str, Any]
) -> None:
    """Enqueue ``kind`` for each subscription that asked for it, idempotently."""
    payload = {"notification": {"type": kind}, "event": view}
    record = MeetingRecord.from_json(row.conferencing)
    marker = (record.join_url or record.failure or "") if record else ""
    for subscription in row.request.get("subscriptions") or []:
        if kind not in subscription.get("interactions", []):
            continue
        uri = subscription["uri"]
        seed = f"{row.id}|{row.created_at.timestamp()}|{kind}|{marker}|{uri}"
        delivery_id = "dlv_" + hashlib.sha256(seed.encode()).hexdigest()[:32]
        if not outbox_delivery_exists(session, delivery_id):
            enqueue(session, row.application_id, kind, uri, payload, delivery_id=delivery_id)
