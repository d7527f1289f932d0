"""What every step of the managed-event worker works with.

``WorkerContext`` holds the worker's dependencies (database, settings, secrets, adapter
factories) and the per-thread cache of calendar adapters; ``Job`` is the snapshot of one
leased ``ManagedEvent`` row that the steps act on (``load_job`` takes it). A step that
wants the whole job tried again later raises ``Retry``.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from conferencing_providers.base import ConferencingProvider
from providers.base import CalendarProvider, ProviderError, RateLimited, RemoteCalendar
from syncd.conferencing.adapter_pool import AdapterPool
from syncd.conferencing.group_commit import GroupCommit
from syncd.conferencing.plan import Plan, plan_conferencing
from syncd.conferencing.record import MeetingRecord
from syncd.config import Settings
from syncd.statuses import ManagedEventState
from syncd.store import managed as store
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Calendar, ManagedEvent, Profile
from syncd.store.profiles import profile_credentials, remote_calendar, store_credentials

__all__ = [
    "ConferencingFactory",
    "Job",
    "ProviderFactory",
    "Retry",
    "WorkerContext",
    "claim_jobs",
    "job_from_row",
    "load_job",
    "new_conference_secret",
    "request_bounds",
    "request_times",
    "retry_after",
]

#: Idle calendar adapters the writer keeps for reuse, in all (``AdapterPool``).
ADAPTER_POOL_SIZE = 32

ProviderFactory = Callable[[Settings, str, dict[str, Any]], CalendarProvider]
ConferencingFactory = Callable[[Settings, str, dict[str, Any]], ConferencingProvider]


class Retry(Exception):
    """Try the whole job again later (after ``delay`` seconds)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def retry_after(error: ProviderError) -> float | None:
    return error.retry_after if isinstance(error, RateLimited) else None


@dataclass
class Job:
    """A snapshot of one leased row and what is needed to act on it."""

    row_id: int
    application_id: str
    event_id: str
    calendar_id: str
    state: str
    request: dict[str, Any]
    updated_at: dt.datetime
    provider_event_id: str | None
    conferencing: MeetingRecord | None
    conferencing_state: str
    conference_meeting_id: str | None
    conference_profile_id: str | None
    attempts: int
    created_at: dt.datetime
    provider_name: str
    profile_id: str
    credentials: dict[str, Any]
    remote_calendar: RemoteCalendar
    default_tz: str
    plan: Plan
    #: The row's ``conference_secret`` (``MeetingRequest.secret``).
    conference_secret: str = ""
    #: Gives back the job's calendar and provider slots (``limits.Held.release``) once
    #: the provider is done with: the finishing commit needs neither.
    release_slots: Callable[[], None] = field(default=lambda: None, repr=False)
    #: Gives back the job's writer-pool slot (``dispatch.ManagedEventJob``) once it only
    #: waits for its finishing commit, so another row's write starts meanwhile.
    release_dispatch_slot: Callable[[], None] = field(default=lambda: None, repr=False)
    #: A meeting made in memory this attempt and not committed yet (an adapter without
    #: meetings at the provider: nothing to find again, so ``finish_write`` stores it).
    meeting_unsaved: bool = False


@dataclass
class WorkerContext:
    """The worker's dependencies, shared by its steps and threads."""

    engine: Engine
    settings: Settings
    box: SecretBox
    worker_id: str
    provider_factory: ProviderFactory
    conferencing_factory: ConferencingFactory
    #: Commits finished writes of several threads together (``write.finish_write``);
    #: None: each alone. A ``GroupCommit`` of ``finish.Finished`` items.
    finisher: GroupCommit[Any] | None = None
    adapters: AdapterPool[CalendarProvider] = field(
        default_factory=lambda: AdapterPool(ADAPTER_POOL_SIZE)
    )

    @contextmanager
    def calendar_provider(self, job: Job) -> Iterator[CalendarProvider]:
        """The calendar adapter for the job's profile, lent by the shared pool; its
        refreshed credentials are stored when the step is done with it.

        The key includes the credentials, so a reauthorized profile gets a fresh adapter.
        """
        fingerprint = json.dumps(job.credentials, sort_keys=True, default=str)
        key = (job.profile_id, hashlib.sha256(fingerprint.encode()).hexdigest())

        def build() -> CalendarProvider:
            return self.provider_factory(self.settings, job.provider_name, job.credentials)

        with self.adapters.lend(key, build) as provider:
            try:
                yield provider
            finally:
                self.persist_calendar_credentials(job.profile_id, provider)

    def persist_calendar_credentials(self, profile_id: str, provider: CalendarProvider) -> None:
        refreshed = provider.refreshed_credentials()
        if refreshed is None:
            return
        with session_scope(self.engine) as session:
            profile = session.get(Profile, profile_id)
            if profile is not None:
                store_credentials(session, self.box, profile, refreshed)

    def persist_conferencing_credentials(
        self, profile_id: str | None, adapter: ConferencingProvider
    ) -> None:
        refreshed = adapter.refreshed_credentials()
        if refreshed is None or profile_id is None:
            return
        with session_scope(self.engine) as session:
            store.store_conferencing_credentials(session, self.box, profile_id, refreshed)


def load_job(ctx: WorkerContext, row_id: int) -> Job | None:
    """The leased row's snapshot; None if it is not (or no longer) ours, or gone."""
    with session_scope(ctx.engine) as session:
        row = session.get(ManagedEvent, row_id)
        if row is None or row.lease_owner != ctx.worker_id:
            return None
        return job_from_row(ctx, session, row)


def claim_jobs(ctx: WorkerContext, limit: int, lease_seconds: float) -> list[Job]:
    """Lease up to ``limit`` due rows and take their snapshots, in one transaction.

    One write transaction per batch instead of a claim plus one per row: the rows'
    calendar, profile and account are read once for the whole batch (a burst is
    usually one calendar's), and on SQLite the worker threads no longer queue for the
    write lock only to read their row.
    """
    with session_scope(ctx.engine) as session:
        ids = store.claim_due_managed_events_in(session, ctx.worker_id, limit, lease_seconds)
        if not ids:
            return []
        rows = store.managed_events_by_id(session, ids)
        jobs = [job_from_row(ctx, session, row) for row in rows]
    return [job for job in jobs if job is not None]


def job_from_row(ctx: WorkerContext, session: Session, row: ManagedEvent) -> Job | None:
    """A leased row's snapshot (in the caller's transaction); a row whose calendar is
    gone is failed and released instead (None)."""
    calendar = _get(session, Calendar, row.calendar_id)
    profile = _get(session, Profile, calendar.profile_id) if calendar else None
    account = _get(session, Account, row.account_id)
    if calendar is None or profile is None or account is None:
        row.state, row.last_error = ManagedEventState.FAILED, "the calendar no longer exists"
        row.next_attempt_at = None
        row.lease_owner = row.lease_expires_at = None
        session.add(row)
        return None
    plan = plan_conferencing(session, ctx.box, account, calendar, row.request.get("conferencing"))
    if not row.conference_secret:
        # Chosen once and committed with the claim, before any attempt makes a meeting.
        row.conference_secret = new_conference_secret()
        session.add(row)
    return Job(
        row_id=int(row.id or 0),
        application_id=row.application_id,
        event_id=row.event_id,
        calendar_id=row.calendar_id,
        state=row.state,
        request=dict(row.request),
        updated_at=row.updated_at,
        provider_event_id=row.provider_event_id,
        conferencing=MeetingRecord.from_json(row.conferencing),
        conferencing_state=row.conferencing_state,
        conference_meeting_id=row.conference_meeting_id,
        conference_profile_id=row.conference_profile_id,
        attempts=row.attempts,
        created_at=row.created_at,
        provider_name=profile.provider,
        profile_id=profile.id,
        credentials=_credentials(ctx, session, profile),
        remote_calendar=remote_calendar(calendar),
        default_tz=account.timezone,
        plan=plan,
        conference_secret=row.conference_secret,
    )


def new_conference_secret() -> str:
    """256 random bits: what a meeting that is only a name is derived from."""
    return secrets.token_urlsafe(32)


def _credentials(ctx: WorkerContext, session: Session, profile: Profile) -> dict[str, Any]:
    """The profile's decrypted credentials, once per batch (``session.info`` cache)."""
    cache: dict[tuple[str, Any], dict[str, Any]] = session.info.setdefault(_CREDENTIALS, {})
    key = (profile.id, profile.credentials_encrypted)
    if key not in cache:
        cache[key] = profile_credentials(ctx.box, profile)
    return copy.deepcopy(cache[key])


_CREDENTIALS = "syncd.conferencing.credentials"
_LOADED = "syncd.conferencing.loaded"

Loaded = TypeVar("Loaded", Calendar, Profile, Account)


def _get(session: Session, model: type[Loaded], key: str) -> Loaded | None:
    """``session.get``, remembered for the batch: the session's identity map holds rows
    only while something refers to them, and a batch's rows share their calendar."""
    loaded: dict[tuple[type, str], Any] = session.info.setdefault(_LOADED, {})
    if (model, key) not in loaded:
        loaded[(model, key)] = session.get(model, key)
    found: Loaded | None = loaded[(model, key)]
    return found


def request_times(
    request: dict[str, Any],
) -> tuple[dt.datetime | dt.date, dt.datetime | dt.date]:
    """A stored request's start and end: dates for all-day events, else aware times."""
    if request.get("all_day"):
        return dt.date.fromisoformat(request["start"]), dt.date.fromisoformat(request["end"])
    return dt.datetime.fromisoformat(request["start"]), dt.datetime.fromisoformat(request["end"])


def request_bounds(request: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """Start and end as aware datetimes (all-day events: midnight UTC)."""
    start, end = request_times(request)
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        return start, end
    as_dt = [dt.datetime.combine(value, dt.time(), dt.UTC) for value in (start, end)]
    return as_dt[0], as_dt[1]
