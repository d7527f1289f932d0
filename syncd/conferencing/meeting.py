"""The meeting step, and how a meeting is made idempotent.

A conferencing adapter makes one meeting per managed event, and no attempt of the job,
however it is interrupted (a crash, ``kill -9``, a provider timeout), makes a second one:

1. **Reuse the stored meeting.** The meeting's id and join details
   (``MeetingRecord``) are committed to the ``ManagedEvent`` row (``store_meeting``)
   *before* the event is written to the calendar, so every later attempt finds them
   there and only moves the meeting when the request's times or summary changed.
2. **Else find the meeting an interrupted attempt made.** Every meeting carries our
   tag (``meeting_tag``: calendar, event id and the row's creation time, so a re-created
   event gets a new one), and ``adapter.find_meeting(tag)`` looks it up at the provider
   (Zoom keeps it in the agenda, GoTo in the subject): a crash between the provider's
   "created" and our commit is recovered by reusing that meeting.
3. **Else create it**, and commit it at once (1.).

Adapters without meetings at the provider (8x8 rooms, explicit details) have nothing to
find: an 8x8 room is derived from the row's ``conference_secret`` (chosen once, in the
claim's transaction), so a retried attempt makes the same room again. The event
write itself is idempotent separately: it goes under a deterministic provider id
derived from the same tag (``syncd.conferencing.write.provider_event_seed``).

Conferencing that fails for good is recorded (``mark_failing``) and never blocks the
event, which is then written without it; transient failures retry the whole job.
"""

from __future__ import annotations

import logging

from conferencing_providers.base import ConferencingProvider, MeetingRequest
from providers.base import AuthRevoked, Conferencing, ProviderError, RateLimited, TransientError
from syncd.conferencing.context import (
    Job,
    Retry,
    WorkerContext,
    new_conference_secret,
    request_bounds,
    retry_after,
)
from syncd.conferencing.plan import PlanKind
from syncd.conferencing.record import MeetingRecord
from syncd.statuses import ConferencingState
from syncd.store import managed as store
from syncd.store.db import session_scope
from syncd.store.models import ConferencingProfile, ManagedEvent

__all__ = [
    "MAX_CONFERENCING_ATTEMPTS",
    "MAX_CONFERENCING_WAIT_SECONDS",
    "apply_meeting",
    "delete_meeting",
    "meeting_tag",
    "prepare_meeting",
    "record_for",
    "store_meeting",
]

log = logging.getLogger(__name__)

#: Conferencing creation attempts before the event is written without it.
MAX_CONFERENCING_ATTEMPTS = 5
#: A rate limit asking for a longer wait than this (Zoom's daily cap) fails at once.
MAX_CONFERENCING_WAIT_SECONDS = 120.0

_FAILED_STATES = (ConferencingState.FAILING, ConferencingState.PENDING_FAILURE)


def meeting_tag(job: Job) -> str:
    """Our id on the meeting, so an interrupted creation is found again, not repeated."""
    return f"syncd:{job.calendar_id}:{job.event_id}:{job.created_at.timestamp():.6f}"


def prepare_meeting(ctx: WorkerContext, job: Job) -> str | None:
    """Make sure ``job.conferencing`` holds this request's meeting; None, or why not."""
    plan = job.plan
    if job.conferencing_state in _FAILED_STATES:
        # Failed for good for this request; a changed request resets the state.
        return (job.conferencing.failure if job.conferencing else None) or "conferencing failed"
    if job.conferencing and job.conferencing.key != plan.key:
        _drop_meeting(ctx, job)
    if plan.kind != PlanKind.ADAPTER:
        return None
    if plan.failure:
        mark_failing(ctx, job, plan.failure)
        return plan.failure
    adapter = ctx.conferencing_factory(ctx.settings, plan.adapter, plan.credentials)
    request = meeting_request(job)
    try:
        try:
            _reuse_find_or_create(ctx, job, adapter, request)
        finally:
            ctx.persist_conferencing_credentials(plan.profile_id, adapter)
    except ProviderError as error:
        return _conferencing_failed(ctx, job, error)
    return None


def _reuse_find_or_create(
    ctx: WorkerContext, job: Job, adapter: ConferencingProvider, request: MeetingRequest
) -> None:
    """Steps 1 to 3 of the module docstring."""
    stored = job.conferencing
    if stored and stored.join_url:
        if adapter.has_remote_meetings and _moved(stored, request):
            adapter.update_meeting(str(job.conference_meeting_id), request)
            store_meeting(ctx, job, _with_times(stored, request), adapter)
        elif adapter.takes_explicit_details and _explicit_changed(stored, request):
            conference = adapter.create_meeting(request)
            store_meeting(ctx, job, record_for(conference, job, adapter), adapter)
        return
    found = adapter.find_meeting(meeting_tag(job))
    conference = found if found is not None else adapter.create_meeting(request)
    store_meeting(ctx, job, record_for(conference, job, adapter), adapter)


def _conferencing_failed(ctx: WorkerContext, job: Job, error: ProviderError) -> str:
    """Why conferencing failed for good (recorded), or ``Retry`` while it may yet work."""
    plan = job.plan
    if isinstance(error, AuthRevoked):
        reason = f"{plan.adapter} refused the grant: {error}"
        if plan.profile_id:
            with session_scope(ctx.engine) as session:
                store.mark_conferencing_disconnected(session, plan.profile_id, reason)
    elif isinstance(error, TransientError | RateLimited):
        wait = retry_after(error)
        if (wait is None or wait <= MAX_CONFERENCING_WAIT_SECONDS) and (
            job.attempts + 1 < MAX_CONFERENCING_ATTEMPTS
        ):
            raise Retry(f"conferencing: {error}", wait) from error
        reason = f"{plan.adapter} conferencing failed: {error}"
    else:
        reason = f"{plan.adapter} conferencing failed: {error}"
    mark_failing(ctx, job, reason)
    return reason


def meeting_request(job: Job) -> MeetingRequest:
    request = job.request
    conferencing = request.get("conferencing") or {}
    start, end = request_bounds(request)
    return MeetingRequest(
        tag=meeting_tag(job),
        summary=request.get("summary", ""),
        start=start,
        end=end,
        tzid=request.get("tzid") or "Etc/UTC",
        provider_description=conferencing.get("provider_description"),
        join_url=conferencing.get("join_url"),
        secret=job.conference_secret,
    )


def record_for(
    conference: Conferencing, job: Job, adapter: ConferencingProvider | None = None
) -> MeetingRecord:
    """What is stored of a new meeting (``adapter`` None: the calendar's own conference)."""
    request_start, request_end = request_bounds(job.request)
    name = job.plan.adapter if job.plan.kind == PlanKind.ADAPTER else ""
    requested = job.request.get("conferencing") or {}
    return MeetingRecord(
        key=job.plan.key,
        adapter=name,
        remote=bool(name and adapter is not None and adapter.has_remote_meetings),
        provider_description=conference.provider_description,
        join_url=conference.join_url,
        password=conference.password,
        meeting_id=conference.provider_meeting_id,
        start=request_start.isoformat(),
        end=request_end.isoformat(),
        summary=job.request.get("summary", ""),
        requested_join_url=requested.get("join_url"),
        requested_description=requested.get("provider_description"),
    )


def store_meeting(
    ctx: WorkerContext, job: Job, record: MeetingRecord, adapter: ConferencingProvider
) -> None:
    """Commit the meeting before anything is written, so a retry reuses it.

    A meeting that exists nowhere but in its URL (8x8 rooms, explicit details:
    ``has_remote_meetings`` false) has nothing to reuse or find again, so it is kept in
    memory and stored by the write's own transaction (``finish_write``): one write
    transaction per event instead of two. An attempt that dies before that commit
    leaves at most an event under its deterministic id; the retry derives the same room
    from the row's secret, so even a hung first write landing after it agrees with the
    one webhook.
    """
    job.conferencing = record
    job.conference_meeting_id = record.meeting_id
    if not adapter.has_remote_meetings:
        job.meeting_unsaved = True
        return
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is None:
            return
        apply_meeting(row, job, record)
        session.add(row)


def apply_meeting(row: ManagedEvent, job: Job, record: MeetingRecord) -> None:
    """Put a new meeting on the row; its state is pending until the event carries it."""
    row.conferencing = record.to_json()
    row.conference_meeting_id = record.meeting_id
    row.conference_profile_id = job.plan.profile_id
    if row.conferencing_state != ConferencingState.ASSIGNED or record.join_url != (
        (row.conferencing or {}).get("join_url")
    ):
        row.conferencing_state = ConferencingState.PENDING


def _drop_meeting(ctx: WorkerContext, job: Job) -> None:
    """The request now asks for other conferencing: delete the old meeting."""
    old = job.conferencing
    if job.conference_meeting_id and old and old.adapter and old.remote:
        delete_meeting(ctx, job.conference_meeting_id, job.conference_profile_id)
    job.conferencing = None
    job.conference_meeting_id = None
    # A later switch back to a room gets a new one, not the dropped room again.
    job.conference_secret = new_conference_secret()
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is not None:
            row.conferencing = None
            row.conference_meeting_id = None
            row.conference_profile_id = None
            row.conference_secret = job.conference_secret
            row.conferencing_state = ConferencingState.NONE
            session.add(row)


def mark_failing(ctx: WorkerContext, job: Job, reason: str) -> None:
    """Conferencing failed for good: the event is written without it, then signalled."""
    log.warning("conferencing for %s failed for good: %s", job.event_id, reason)
    job.conferencing = MeetingRecord.failed(job.plan.key, reason)
    job.conferencing_state = ConferencingState.FAILING
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, job.row_id)
        if row is not None:
            row.conferencing = job.conferencing.to_json()
            row.conferencing_state = ConferencingState.PENDING_FAILURE
            session.add(row)


def delete_meeting(ctx: WorkerContext, meeting_id: str, profile_id: str | None) -> None:
    """Best effort: a meeting we cannot delete is logged, never blocks the event."""
    with session_scope(ctx.engine) as session:
        profile = session.get(ConferencingProfile, profile_id) if profile_id else None
        if profile is None:
            return
        credentials = store.conferencing_credentials(ctx.box, profile)
        name = profile.provider
    adapter = ctx.conferencing_factory(ctx.settings, name, credentials)
    try:
        adapter.delete_meeting(meeting_id)
    except ProviderError as error:
        log.warning("could not delete %s meeting %s: %s", name, meeting_id, error)
    finally:
        ctx.persist_conferencing_credentials(profile_id, adapter)


def _moved(stored: MeetingRecord, request: MeetingRequest) -> bool:
    return (
        stored.start != request.start.isoformat()
        or stored.end != request.end.isoformat()
        or stored.summary != request.summary
    )


def _with_times(stored: MeetingRecord, request: MeetingRequest) -> MeetingRecord:
    return stored.replace(
        start=request.start.isoformat(), end=request.end.isoformat(), summary=request.summary
    )


def _explicit_changed(stored: MeetingRecord, request: MeetingRequest) -> bool:
    return (
        stored.requested_join_url != request.join_url
        or stored.requested_description != request.provider_description
    )
