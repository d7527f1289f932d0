"""The write step's last transaction, for one event or a batch of them.

A written event's row is marked written, the provider item is stored with its
``managed_event_id`` (as a sync page would store it) and the ``conferencing_assigned``
(or ``_failing``) webhooks are enqueued, all in one transaction; the batch's webhooks are
looked up and inserted together (``syncd.notify.outbox.enqueue_new``). ``finish_writes`` does
that for many events at once (``group_commit.GroupCommit`` collects them from the
writer threads): their rows, calendars and stored items are read in one statement each
and each calendar's items stored as one page, instead of ~10 statements per event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session, col

from providers.base import RemoteEvent
from syncd.conferencing.context import Job, WorkerContext
from syncd.conferencing.meeting import apply_meeting
from syncd.conferencing.webhooks import subscriber_deliveries
from syncd.cronofy.events import event_view
from syncd.notify.outbox import Outgoing, enqueue_new
from syncd.statuses import ConferencingState, ManagedEventState
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page
from syncd.store.models import Calendar, Event, ManagedEvent, utcnow

__all__ = ["Finished", "finish_writes"]

Model = TypeVar("Model", ManagedEvent, Calendar)


@dataclass(frozen=True)
class Finished:
    """One event written to its provider, waiting for its finishing transaction."""

    job: Job
    stored: RemoteEvent
    failure: str | None


def finish_writes(ctx: WorkerContext, items: list[Finished]) -> None:
    """One transaction: for each item, provider item stored, row written, webhooks
    enqueued; an item whose request changed meanwhile is made due again instead.

    Nothing is flushed before the commit: the page's reads never look at managed rows,
    and flushed early each row would be updated twice (its provider id, then its state)."""
    with session_scope(ctx.engine) as session, session.no_autoflush:
        rows = _by_id(session, ManagedEvent, [item.job.row_id for item in items])
        calendars = _by_id(session, Calendar, [item.job.calendar_id for item in items])
        current: dict[str, list[Finished]] = defaultdict(list)
        for item in items:
            job, row = item.job, rows.get(item.job.row_id)
            if row is None or job.calendar_id not in calendars:
                continue
            row.provider_event_id = item.stored.provider_event_id
            if job.meeting_unsaved and job.conferencing is not None:
                apply_meeting(row, job, job.conferencing)
            if row.updated_at != job.updated_at or row.state != ManagedEventState.PENDING_WRITE:
                # The caller changed the event meanwhile: do it all again for the new request.
                row.next_attempt_at = utcnow()
                row.lease_owner = row.lease_expires_at = None
                session.add(row)
                continue
            current[job.calendar_id].append(item)
        window = ExpansionWindow.around(
            utcnow(), ctx.settings.expansion_history_days, ctx.settings.expansion_horizon_days
        )
        deliveries: list[Outgoing] = []
        for calendar_id, finished in current.items():
            calendar = calendars[calendar_id]
            stored = [item.stored for item in finished]
            default_tz = finished[0].job.default_tz  # one calendar: one account
            apply_page(session, calendar, stored, [], calendar.sync_generation, window, default_tz)
            events = _stored_events(session, calendar_id, [s.provider_event_id for s in stored])
            for item in finished:
                deliveries += _mark_written(session, rows[item.job.row_id], events, item)
        enqueue_new(session, deliveries)  # the batch's webhooks: one lookup, one insert


def _mark_written(
    session: Session, row: ManagedEvent, events: dict[str, Event], item: Finished
) -> list[Outgoing]:
    """Mark the row written with its stored item; the webhooks that owes (not queued)."""
    job, failure = item.job, item.failure
    event = events[item.stored.provider_event_id]
    record = job.conferencing.to_json() if job.conferencing else None
    event.managed_event_id = job.event_id
    event.conferencing = record if not failure else None
    session.add(event)
    notify: str | None = None
    if failure or row.conferencing_state == ConferencingState.PENDING_FAILURE:
        row.conferencing_state = ConferencingState.FAILING
        notify = "conferencing_failing"
    elif job.conferencing and job.conferencing.join_url:
        if row.conferencing_state != ConferencingState.ASSIGNED:
            notify = "conferencing_assigned"
        row.conferencing_state = ConferencingState.ASSIGNED
    row.conferencing = record
    row.state = ManagedEventState.WRITTEN
    row.attempts = 0
    row.last_error = failure
    row.next_attempt_at = None
    row.lease_owner = row.lease_expires_at = None
    session.add(row)
    return subscriber_deliveries(row, notify, event_view(event, row)) if notify else []


def _by_id(session: Session, model: type[Model], ids: Sequence[object]) -> dict[object, Model]:
    found = session.execute(select(model).where(col(model.id).in_(set(ids)))).scalars()
    return {row.id: row for row in found}


def _stored_events(session: Session, calendar_id: str, provider_ids: list[str]) -> dict[str, Event]:
    """The calendar's stored items with these provider ids (just written by the page)."""
    found = session.execute(
        select(Event).where(
            col(Event.calendar_id) == calendar_id, col(Event.provider_event_id).in_(provider_ids)
        )
    ).scalars()
    return {event.provider_event_id: event for event in found}
