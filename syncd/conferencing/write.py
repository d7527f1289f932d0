"""The write step: the managed event to the calendar provider, with its conferencing.

1. the meeting is made (or reused) first and committed (``syncd.conferencing.meeting``);
2. the event is written under a deterministic provider id (``provider_event_seed``), so
   a retried write replaces, never duplicates, with the join details in its description,
   location and the provider's own conference fields;
3. integrated conferencing (Meet, Teams) is asked of the calendar provider after the
   write, and polled while the provider reports it pending;
4. one transaction marks the row written, stores the provider item with its
   ``managed_event_id`` and enqueues the ``conferencing_assigned`` (or ``_failing``)
   webhooks (``finish_write``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from providers.base import (
    Attendee,
    Conferencing,
    Geo,
    ProviderError,
    RateLimited,
    RemoteEvent,
    TransientError,
)
from syncd.conferencing.context import Job, Retry, WorkerContext, request_times, retry_after
from syncd.conferencing.event_fields import FIELD_DEFAULTS
from syncd.conferencing.finish import Finished, finish_writes
from syncd.conferencing.meeting import meeting_tag, prepare_meeting, record_for
from syncd.conferencing.plan import PlanKind
from syncd.conferencing.record import MeetingRecord
from syncd.conferencing.webhooks import notify_subscribers
from syncd.cronofy.events import managed_view
from syncd.statuses import ConferencingState, ManagedEventState
from syncd.store.db import session_scope
from syncd.store.models import ManagedEvent, utcnow

__all__ = ["MAX_INTEGRATED_POLLS", "POLL_SECONDS", "fail", "provider_event_seed", "write"]

log = logging.getLogger(__name__)

#: Polls of a pending integrated conference (one per POLL_SECONDS) before giving up.
MAX_INTEGRATED_POLLS = 60
POLL_SECONDS = 1.0

_INTEGRATED_KEY = "integrated"


def provider_event_seed(job: Job) -> str:
    """A deterministic provider id for the first write (the adapters hash it as needed)."""
    digest = hashlib.sha256(meeting_tag(job).encode()).hexdigest()[:40]
    return f"syncd{digest}"


def write(ctx: WorkerContext, job: Job) -> None:
    with ctx.calendar_provider(job) as provider:
        failure = prepare_meeting(ctx, job)
        event = remote_event(job, None if failure else job.conferencing)
        polling = job.conferencing is not None and (
            job.conferencing.polling == job.updated_at.isoformat()
        )
        integrated = job.plan.kind == PlanKind.INTEGRATED and not failure
        if polling and integrated:
            stored = event  # written already; only the conference is awaited
        else:
            try:
                stored = provider.upsert_event(job.remote_calendar, event)
            except (TransientError, RateLimited) as error:
                raise Retry(f"provider write: {error}", retry_after(error)) from error
            except ProviderError as error:
                fail(ctx, job, f"the provider refused the event: {error}")
                return
        if event.recurrence and not stored.recurrence and not stored.ical:
            # The read-back may not say the rule (Graph's is a pattern): store the series
            # with the rule we wrote, so it is read as a series until the provider's own
            # occurrences arrive (``syncd.store.managed_series``).
            stored.recurrence = list(event.recurrence)
        if integrated:
            try:
                conference = provider.create_integrated_conference(job.remote_calendar, stored)
            except (TransientError, RateLimited) as error:
                _remember_provider_id(ctx, job, stored.provider_event_id)
                raise Retry(f"integrated conferencing: {error}", retry_after(error)) from error
            except ProviderError as error:
                failure = f"integrated conferencing failed: {error}"
                conference = None
            else:
                if conference is None:
                    _poll_later(ctx, job, stored.provider_event_id)
                    return
                job.conferencing = record_for(conference, job)
                stored.conferencing = conference
        finish_write(ctx, job, stored, failure)


def remote_event(job: Job, conferencing: MeetingRecord | None) -> RemoteEvent:
    """The event as the calendar provider gets it, with an adapter's meeting attached."""
    request = job.request
    start, end = request_times(request)
    description = request.get("description", "")
    location = request.get("location", "")
    attached = None
    if conferencing and conferencing.join_url and job.plan.kind == PlanKind.ADAPTER:
        attached = Conferencing(
            provider_description=conferencing.provider_description,
            join_url=conferencing.join_url,
            password=conferencing.password,
            provider_meeting_id=conferencing.meeting_id,
        )
        description = _with_join_details(description, attached)
        location = location or attached.join_url
    return RemoteEvent(
        provider_event_id=job.provider_event_id or provider_event_seed(job),
        start=start,
        end=end,
        ical_uid=f"{provider_event_seed(job)}@syncd",
        tzid=None if request.get("all_day") else request.get("tzid") or "Etc/UTC",
        all_day=bool(request.get("all_day")),
        summary=request.get("summary", ""),
        description=description,
        location=location,
        transparency=request.get("transparency", "opaque"),
        participation_status="accepted",
        conferencing=attached,
        **written_fields(request),
    )


def written_fields(request: dict[str, Any]) -> dict[str, Any]:
    """The ``RemoteEvent`` fields of a stored request's attendees, reminders, URL, colour,
    privacy, coordinates and recurrence (``syncd.conferencing.event_fields``)."""
    fields = {key: request.get(key, default) for key, default in FIELD_DEFAULTS.items()}
    geo = fields["geo"]
    return {
        "attendees": [
            Attendee(email=person["email"], display_name=person["display_name"])
            for person in fields["attendees"]
        ],
        "reminders": fields["reminders"],
        "url": fields["url"],
        "color": fields["color"],
        "private": fields["private"],
        "geo": Geo(latitude=geo[0], longitude=geo[1]) if geo else None,
        "recurrence": list(fields["recurrence"]),
    }


def _remember_provider_id(ctx: WorkerContext, job: Job, provider_event_id: str) -> None:
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is not None:
            row.provider_event_id = provider_event_id
            session.add(row)


def _poll_later(ctx: WorkerContext, job: Job, provider_event_id: str) -> None:
    """The calendar provider is still creating the conference: look again soon."""
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is None:
            return
        row.provider_event_id = provider_event_id
        row.conferencing_state = ConferencingState.PENDING
        if row.updated_at == job.updated_at:
            polling = MeetingRecord.awaiting(_INTEGRATED_KEY, job.updated_at.isoformat())
            row.conferencing = polling.to_json()
        row.attempts += 1
        if row.attempts >= MAX_INTEGRATED_POLLS:
            gave_up = MeetingRecord.failed(_INTEGRATED_KEY, "still pending at the provider")
            row.conferencing = gave_up.to_json()
            row.conferencing_state = ConferencingState.PENDING_FAILURE
            row.attempts = 0
        row.next_attempt_at = utcnow() + dt.timedelta(seconds=POLL_SECONDS)
        row.lease_owner = row.lease_expires_at = None
        session.add(row)


def finish_write(ctx: WorkerContext, job: Job, stored: RemoteEvent, failure: str | None) -> None:
    """One transaction: provider item stored, row written, webhooks enqueued; shared with
    the events other writer threads finish meanwhile (``ctx.finisher``, group commit).

    The job's calendar and provider slots are given back first: held while it waited
    for the commit, they capped a one-calendar burst at 4 events per commit. So is its
    writer-pool slot: held, a pool of 8 writers waiting on a slow commit (Postgres under
    load) let no ninth write start, and events were written only a batch per commit."""
    job.release_slots()
    job.release_dispatch_slot()
    item = Finished(job, stored, failure)
    if ctx.finisher is None:
        finish_writes(ctx, [item])
    else:
        ctx.finisher.submit(item)


def fail(ctx: WorkerContext, job: Job, reason: str) -> None:
    """The event cannot be written: record it and signal conferencing_failing."""
    log.warning("managed event %s failed for good: %s", job.event_id, reason)
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is None:
            return
        row.state = ManagedEventState.FAILED
        row.last_error = reason
        row.next_attempt_at = None
        row.lease_owner = row.lease_expires_at = None
        if row.request.get("conferencing"):
            row.conferencing_state = ConferencingState.FAILING
        session.add(row)
        session.flush()
        if row.request.get("conferencing"):
            notify_subscribers(session, row, "conferencing_failing", managed_view(row))


def _with_join_details(description: str, conferencing: Conferencing) -> str:
    """Attendees see the link even where the provider has no conference fields."""
    lines = [f"Join {conferencing.provider_description}: {conferencing.join_url}"]
    if conferencing.password:
        lines.append(f"Password: {conferencing.password}")
    details = "\n".join(lines)
    return f"{description}\n\n{details}" if description else details
