"""The daemon job that writes managed events to providers, with conferencing attached.

One due ``ManagedEvent`` is processed in steps, each ending in a commit, so a crash (or
``kill -9``) at any point is resumed by the next attempt without doing anything twice:

1. meeting: reuse the stored meeting id; else look for a meeting tagged with our id
   (an earlier attempt may have created it and died); else create one. The meeting id
   and join details are committed *before* the event is written.
2. write the event to the calendar provider under a deterministic id (a retried write
   replaces, never duplicates), with the join details in its description, location and
   the provider's own conference fields.
3. integrated conferencing (Meet, Teams) is asked of the calendar provider after the
   write, and polled while the provider reports it pending.
4. one transaction marks the row written, stores the provider item with its
   ``managed_event_id`` and enqueues the ``conferencing_assigned`` webhooks, so the
   webhook exists exactly when the state change does.

Conferencing that fails for good never blocks the event: it is written without
conferencing and ``conferencing_failing`` is signalled. Provider writes are retried with
backoff until they succeed or fail for good.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from conferencing_providers.base import ConferencingProvider, MeetingRequest
from providers.base import (
    AuthRevoked,
    CalendarProvider,
    Conferencing,
    NotFound,
    ProviderError,
    RateLimited,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)
from syncd.conferencing.adapters import (
    CALENDAR_BACKED,
    build_conferencing_provider,
    not_served_reason,
    serves_calendar,
)
from syncd.cronofy.events import event_view, managed_view
from syncd.config import Settings
from syncd.ids import new_id
from syncd.notify.outbox import enqueue
from syncd.registry import build_provider
from syncd.store import managed as store
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page
from syncd.store.models import (
    Account,
    Calendar,
    ConferencingProfile,
    Event,
    ManagedEvent,
    OutboxMessage,
    Profile,
    utcnow,
)
from syncd.store.profiles import profile_credentials, remote_calendar, store_credentials

log = logging.getLogger(__name__)

#: Write attempts before a managed event fails for good (backoff capped at MAX_BACKOFF).
MAX_WRITE_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 600.0
#: Conferencing creation attempts before the event is written without it.
MAX_CONFERENCING_ATTEMPTS = 5
#: A rate limit asking for a longer wait than this (Zoom's daily cap) fails at once.
MAX_CONFERENCING_WAIT_SECONDS = 120.0
#: Polls of a pending integrated conference (one per POLL_SECONDS) before giving up.
MAX_INTEGRATED_POLLS = 60
POLL_SECONDS = 1.0
#: Calendar adapters one worker thread keeps for reuse.
ADAPTER_CACHE_SIZE = 32

ProviderFactory = Callable[[Settings, str, dict[str, Any]], CalendarProvider]
ConferencingFactory = Callable[[Settings, str, dict[str, Any]], ConferencingProvider]


class _ConferencingFailed(Exception):
    """Conferencing cannot be created for this request: write without it and signal."""


class _Retry(Exception):
    """Try the whole job again later (after ``delay`` seconds)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass
class Plan:
    """Which conferencing a request asks for, resolved against the account's profiles."""

    kind: str  # none | adapter | integrated
    key: str = ""  # eight_by_eight | explicit | integrated | pro_…
    adapter: str = ""  # conferencing provider name
    profile_id: str | None = None
    credentials: dict[str, Any] = dataclasses.field(default_factory=dict)
    failure: str | None = None


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
    conferencing: dict[str, Any] | None
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


def meeting_tag(job: Job) -> str:
    """Our id on the meeting, so an interrupted creation is found again, not repeated."""
    return f"syncd:{job.calendar_id}:{job.event_id}:{job.created_at.timestamp():.6f}"


def provider_event_seed(job: Job) -> str:
    """A deterministic provider id for the first write (the adapters hash it as needed)."""
    digest = hashlib.sha256(meeting_tag(job).encode()).hexdigest()[:40]
    return f"syncd{digest}"


class ManagedEventWorker:
    """Processes due managed events; the daemon runs ``run_due`` from an APScheduler job."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        box: SecretBox,
        worker_id: str | None = None,
        provider_factory: ProviderFactory = build_provider,
        conferencing_factory: ConferencingFactory = build_conferencing_provider,
        lease_seconds: float | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.box = box
        self.worker_id = worker_id or new_id("mw", 6)
        self.provider_factory = provider_factory
        self.conferencing_factory = conferencing_factory
        # The same bound as profile leases: how long a dead daemon's work stays claimed.
        self.lease_seconds = lease_seconds or settings.lease_seconds
        self._adapters = threading.local()

    # -- entry points ------------------------------------------------------

    def claim(self, limit: int) -> list[int]:
        return store.claim_due_managed_events(
            self.engine, self.worker_id, limit, self.lease_seconds
        )

    def run_due(self, limit: int = 100) -> int:
        """Claim and process due rows one after another (``syncd work --once``, tests)."""
        done = 0
        while True:
            ids = self.claim(limit - done)
            for row_id in ids:
                self.process(row_id)
            done += len(ids)
            if not ids or done >= limit:
                return done

    def process(self, row_id: int) -> None:
        """Do one leased row's work; never raises (failures are recorded on the row)."""
        try:
            job = self._load(row_id)
            if job is None:
                return
            if job.state == store.PENDING_DELETE:
                self._delete(job)
            elif job.state == store.PENDING_WRITE:
                self._write(job)
            else:
                self._release(row_id, next_attempt_at=None)
        except _Retry as retry:
            self._reschedule(row_id, str(retry), retry.delay)
        except Exception as error:  # a bug or unexpected payload: keep the daemon alive
            log.exception("managed event %s failed unexpectedly", row_id)
            self._reschedule(row_id, f"{type(error).__name__}: {error}", None)

    # -- loading -----------------------------------------------------------

    def _load(self, row_id: int) -> Job | None:
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, row_id)
            if row is None or row.lease_owner != self.worker_id:
                return None
            calendar = session.get(Calendar, row.calendar_id)
            profile = session.get(Profile, calendar.profile_id) if calendar else None
            account = session.get(Account, row.account_id)
            if calendar is None or profile is None or account is None:
                row.state, row.last_error = store.FAILED, "the calendar no longer exists"
                row.next_attempt_at = None
                row.lease_owner = row.lease_expires_at = None
                session.add(row)
                return None
            plan = self._plan(session, account, calendar, row.request.get("conferencing"))
            return Job(
                row_id=row_id,
                application_id=row.application_id,
                event_id=row.event_id,
                calendar_id=row.calendar_id,
                state=row.state,
                request=dict(row.request),
                updated_at=row.updated_at,
                provider_event_id=row.provider_event_id,
                conferencing=dict(row.conferencing) if row.conferencing else None,
                conferencing_state=row.conferencing_state,
                conference_meeting_id=row.conference_meeting_id,
                conference_profile_id=row.conference_profile_id,
                attempts=row.attempts,
                created_at=row.created_at,
                provider_name=profile.provider,
                profile_id=profile.id,
                credentials=profile_credentials(self.box, profile),
                remote_calendar=remote_calendar(calendar),
                default_tz=account.timezone,
                plan=plan,
            )

    def _plan(
        self,
        session: Session,
        account: Account,
        calendar: Calendar,
        conferencing: dict[str, Any] | None,
    ) -> Plan:
        profile_id = (conferencing or {}).get("profile_id")
        if not profile_id or profile_id == "none":
            return Plan("none")
        if profile_id == "explicit":
            return Plan("adapter", key="explicit", adapter="explicit")
        if profile_id == "integrated":
            return Plan("integrated", key="integrated")
        calendar_profile = session.get(Profile, calendar.profile_id)
        calendar_provider = calendar_profile.provider if calendar_profile else ""
        if profile_id == "default":
            chosen = account.default_conferencing_profile_id
            profile = session.get(ConferencingProfile, chosen) if chosen else None
            if (
                profile is None
                or profile.status != "active"
                or not serves_calendar(profile.provider, calendar_provider)
            ):
                # The account's choice cannot serve this event: the documented fallback.
                return Plan("adapter", key="eight_by_eight", adapter="eight_by_eight")
            profile_id = profile.id
        profile = session.get(ConferencingProfile, profile_id)
        if profile is None or profile.account_id != account.id:
            return Plan("adapter", key=profile_id, failure="the conferencing profile is gone")
        if profile.status != "active":
            return Plan(
                "adapter", key=profile_id, failure="the conferencing profile is disconnected"
            )
        if not serves_calendar(profile.provider, calendar_provider):
            return Plan("adapter", key=profile_id, failure=not_served_reason(profile.provider))
        if profile.provider in CALENDAR_BACKED:
            return Plan("integrated", key="integrated")  # the calendar's own Meet/Teams
        return Plan(
            "adapter",
            key=profile.id,
            adapter=profile.provider,
            profile_id=profile.id,
            credentials=store.conferencing_credentials(self.box, profile),
        )

    def _calendar_provider(self, job: Job) -> CalendarProvider:
        """The calendar adapter for the job's profile, reused by this thread.

        Building one is costly (the Google client parses its discovery document: ~0.1 s
        of CPU), and it would otherwise cap a daemon at ~10 event writes a second. The
        key includes the credentials, so a reauthorized profile gets a fresh adapter.
        """
        cache: dict[tuple[str, str], CalendarProvider] | None = getattr(
            self._adapters, "cache", None
        )
        if cache is None:
            cache = self._adapters.cache = {}
        fingerprint = json.dumps(job.credentials, sort_keys=True, default=str)
        key = (job.profile_id, hashlib.sha256(fingerprint.encode()).hexdigest())
        provider = cache.get(key)
        if provider is None:
            if len(cache) >= ADAPTER_CACHE_SIZE:
                cache.clear()
            provider = self.provider_factory(self.settings, job.provider_name, job.credentials)
            cache[key] = provider
        return provider

    # -- writing -----------------------------------------------------------

    def _write(self, job: Job) -> None:
        provider = self._calendar_provider(job)
        try:
            failure = self._prepare_meeting(job)
            event = self._remote_event(job, None if failure else job.conferencing)
            polling = (job.conferencing or {}).get("polling") == job.updated_at.isoformat()
            if polling and job.plan.kind == "integrated" and not failure:
                stored = event  # written already; only the conference is awaited
            else:
                try:
                    stored = provider.upsert_event(job.remote_calendar, event)
                except (TransientError, RateLimited) as error:
                    raise _Retry(f"provider write: {error}", _retry_after(error)) from error
                except ProviderError as error:
                    self._fail(job, f"the provider refused the event: {error}")
                    return
            if job.plan.kind == "integrated" and not failure:
                try:
                    conference = provider.create_integrated_conference(job.remote_calendar, stored)
                except (TransientError, RateLimited) as error:
                    self._remember_provider_id(job, stored.provider_event_id)
                    raise _Retry(
                        f"integrated conferencing: {error}", _retry_after(error)
                    ) from error
                except ProviderError as error:
                    failure = f"integrated conferencing failed: {error}"
                    conference = None
                else:
                    if conference is None:
                        self._poll_later(job, stored.provider_event_id)
                        return
                    job.conferencing = _conferencing_json(conference, job)
                    stored.conferencing = conference
            self._finish_write(job, stored, failure)
        finally:
            self._persist_calendar_credentials(job.profile_id, provider)

    def _prepare_meeting(self, job: Job) -> str | None:
        """Make sure ``job.conferencing`` holds this request's meeting; None, or why not."""
        plan = job.plan
        if job.conferencing_state in ("failing", "pending_failure"):
            # Failed for good for this request; a changed request resets the state.
            return (job.conferencing or {}).get("failure") or "conferencing failed"
        stale = job.conferencing and job.conferencing.get("key") != plan.key
        if stale:
            self._drop_meeting(job)
        if plan.kind != "adapter":
            return None
        if plan.failure:
            self._mark_failing(job, plan.failure)
            return plan.failure
        adapter = self.conferencing_factory(self.settings, plan.adapter, plan.credentials)
        request = self._meeting_request(job)
        try:
            try:
                if job.conferencing and job.conferencing.get("join_url"):
                    if adapter.has_remote_meetings and _moved(job.conferencing, request):
                        adapter.update_meeting(str(job.conference_meeting_id), request)
                        self._store_meeting(job, _with_times(job.conferencing, request), adapter)
                    elif plan.adapter == "explicit" and _explicit_changed(
                        job.conferencing, request
                    ):
                        conference = adapter.create_meeting(request)
                        self._store_meeting(job, _conferencing_json(conference, job), adapter)
                    return None
                conference = adapter.find_meeting(meeting_tag(job))
                if conference is None:
                    conference = adapter.create_meeting(request)
                self._store_meeting(job, _conferencing_json(conference, job), adapter)
                return None
            finally:
                self._persist_conferencing_credentials(plan.profile_id, adapter)
        except AuthRevoked as error:
            reason = f"{plan.adapter} refused the grant: {error}"
            if plan.profile_id:
                with session_scope(self.engine) as session:
                    store.mark_conferencing_disconnected(session, plan.profile_id, reason)
            self._mark_failing(job, reason)
            return reason
        except (TransientError, RateLimited) as error:
            wait = _retry_after(error)
            if (wait is None or wait <= MAX_CONFERENCING_WAIT_SECONDS) and (
                job.attempts + 1 < MAX_CONFERENCING_ATTEMPTS
            ):
                raise _Retry(f"conferencing: {error}", wait) from error
            reason = f"{plan.adapter} conferencing failed: {error}"
            self._mark_failing(job, reason)
            return reason
        except ProviderError as error:
            reason = f"{plan.adapter} conferencing failed: {error}"
            self._mark_failing(job, reason)
            return reason

    def _meeting_request(self, job: Job) -> MeetingRequest:
        request = job.request
        conferencing = request.get("conferencing") or {}
        start, end = _bounds(request)
        return MeetingRequest(
            tag=meeting_tag(job),
            summary=request.get("summary", ""),
            start=start,
            end=end,
            tzid=request.get("tzid") or "Etc/UTC",
            provider_description=conferencing.get("provider_description"),
            join_url=conferencing.get("join_url"),
        )

    def _store_meeting(
        self, job: Job, conferencing: dict[str, Any], adapter: ConferencingProvider
    ) -> None:
        """Commit the meeting before anything is written, so a retry reuses it."""
        job.conferencing = conferencing
        job.conference_meeting_id = conferencing.get("meeting_id")
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is None:
                return
            row.conferencing = conferencing
            row.conference_meeting_id = job.conference_meeting_id
            row.conference_profile_id = job.plan.profile_id
            if row.conferencing_state != "assigned" or conferencing.get("join_url") != (
                (row.conferencing or {}).get("join_url")
            ):
                row.conferencing_state = "pending"
            session.add(row)

    def _drop_meeting(self, job: Job) -> None:
        """The request now asks for other conferencing: delete the old meeting."""
        old = job.conferencing or {}
        if job.conference_meeting_id and old.get("adapter") and old.get("remote"):
            self._delete_meeting(old, job.conference_meeting_id, job.conference_profile_id)
        job.conferencing = None
        job.conference_meeting_id = None
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is not None:
                row.conferencing = None
                row.conference_meeting_id = None
                row.conference_profile_id = None
                row.conferencing_state = "none"
                session.add(row)

    def _mark_failing(self, job: Job, reason: str) -> None:
        log.warning("conferencing for %s failed for good: %s", job.event_id, reason)
        job.conferencing = {"key": job.plan.key, "failure": reason}
        job.conferencing_state = "failing"
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is not None:
                row.conferencing = job.conferencing
                row.conferencing_state = "pending_failure"
                session.add(row)

    def _remote_event(self, job: Job, conferencing: dict[str, Any] | None) -> RemoteEvent:
        request = job.request
        start, end = _event_times(request)
        description = request.get("description", "")
        location = request.get("location", "")
        attached = None
        if conferencing and conferencing.get("join_url") and job.plan.kind == "adapter":
            attached = Conferencing(
                provider_description=conferencing.get("provider_description", ""),
                join_url=conferencing["join_url"],
                password=conferencing.get("password"),
                provider_meeting_id=conferencing.get("meeting_id"),
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
        )

    def _remember_provider_id(self, job: Job, provider_event_id: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is not None:
                row.provider_event_id = provider_event_id
                session.add(row)

    def _poll_later(self, job: Job, provider_event_id: str) -> None:
        """The calendar provider is still creating the conference: look again soon."""
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is None:
                return
            row.provider_event_id = provider_event_id
            row.conferencing_state = "pending"
            if row.updated_at == job.updated_at:
                row.conferencing = {"key": "integrated", "polling": job.updated_at.isoformat()}
            row.attempts += 1
            if row.attempts >= MAX_INTEGRATED_POLLS:
                row.conferencing = {"key": "integrated", "failure": "still pending at the provider"}
                row.conferencing_state = "pending_failure"
                row.attempts = 0
            row.next_attempt_at = utcnow() + dt.timedelta(seconds=POLL_SECONDS)
            row.lease_owner = row.lease_expires_at = None
            session.add(row)

    def _finish_write(self, job: Job, stored: RemoteEvent, failure: str | None) -> None:
        """One transaction: provider item stored, row written, webhooks enqueued."""
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            calendar = session.get(Calendar, job.calendar_id)
            if row is None or calendar is None:
                return
            row.provider_event_id = stored.provider_event_id
            if row.updated_at != job.updated_at or row.state != store.PENDING_WRITE:
                # The caller changed the event meanwhile: do it all again for the new request.
                row.next_attempt_at = utcnow()
                row.lease_owner = row.lease_expires_at = None
                session.add(row)
                return
            window = ExpansionWindow.around(
                utcnow(),
                self.settings.expansion_history_days,
                self.settings.expansion_horizon_days,
            )
            apply_page(
                session, calendar, [stored], [], calendar.sync_generation, window, job.default_tz
            )
            event = session.execute(
                _event_query(job.calendar_id, stored.provider_event_id)
            ).scalar_one()
            event.managed_event_id = job.event_id
            event.conferencing = job.conferencing if not failure else None
            session.add(event)
            notify: str | None = None
            if failure or row.conferencing_state == "pending_failure":
                row.conferencing_state = "failing"
                notify = "conferencing_failing"
            elif job.conferencing and job.conferencing.get("join_url"):
                if row.conferencing_state != "assigned":
                    notify = "conferencing_assigned"
                row.conferencing_state = "assigned"
            row.conferencing = job.conferencing
            row.state = store.WRITTEN
            row.attempts = 0
            row.last_error = failure
            row.next_attempt_at = None
            row.lease_owner = row.lease_expires_at = None
            session.add(row)
            session.flush()
            if notify:
                self._notify(session, row, notify, event_view(event, row))

    def _notify(self, session: Session, row: ManagedEvent, kind: str, view: dict[str, Any]) -> None:
        """Enqueue ``kind`` for each subscription that asked for it, idempotently."""
        payload = {"notification": {"type": kind}, "event": view}
        for subscription in row.request.get("subscriptions") or []:
            if kind not in subscription.get("interactions", []):
                continue
            uri = subscription["uri"]
            marker = (row.conferencing or {}).get("join_url") or (row.conferencing or {}).get(
                "failure", ""
            )
            seed = f"{row.id}|{row.created_at.timestamp()}|{kind}|{marker}|{uri}"
            delivery_id = "dlv_" + hashlib.sha256(seed.encode()).hexdigest()[:32]
            exists = session.execute(_outbox_query(delivery_id)).scalar_one_or_none()
            if exists is None:
                enqueue(session, row.application_id, kind, uri, payload, delivery_id=delivery_id)

    def _fail(self, job: Job, reason: str) -> None:
        """The event cannot be written: record it and signal conferencing_failing."""
        log.warning("managed event %s failed for good: %s", job.event_id, reason)
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is None:
                return
            row.state = store.FAILED
            row.last_error = reason
            row.next_attempt_at = None
            row.lease_owner = row.lease_expires_at = None
            if row.request.get("conferencing"):
                row.conferencing_state = "failing"
            session.add(row)
            session.flush()
            if row.request.get("conferencing"):
                self._notify(session, row, "conferencing_failing", managed_view(row))

    # -- deleting ----------------------------------------------------------

    def _delete(self, job: Job) -> None:
        provider = self._calendar_provider(job)
        try:
            if job.provider_event_id:
                try:
                    provider.delete_event(job.remote_calendar, job.provider_event_id)
                except NotFound:
                    pass
                except (TransientError, RateLimited) as error:
                    raise _Retry(f"provider delete: {error}", _retry_after(error)) from error
                except ProviderError as error:
                    log.warning("could not delete %s at the provider: %s", job.event_id, error)
        finally:
            self._persist_calendar_credentials(job.profile_id, provider)
        if job.conference_meeting_id and job.conferencing and job.conferencing.get("remote"):
            self._delete_meeting(
                job.conferencing, job.conference_meeting_id, job.conference_profile_id
            )
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, job.row_id)
            if row is None:
                return
            if row.event_id.startswith(store.EXTERNAL_DELETE_PREFIX):
                if job.provider_event_id:
                    store.delete_provider_item(session, job.calendar_id, job.provider_event_id)
                session.delete(row)
                return
            store.delete_managed_event_rows(session, job.calendar_id, job.event_id)
            if row.state == store.PENDING_DELETE and row.updated_at == job.updated_at:
                row.state = store.DELETED
                row.deleted_at = utcnow()
                row.next_attempt_at = None
                row.conference_meeting_id = None
            else:
                row.next_attempt_at = utcnow()
            row.lease_owner = row.lease_expires_at = None
            session.add(row)

    def _delete_meeting(
        self, conferencing: dict[str, Any], meeting_id: str, profile_id: str | None
    ) -> None:
        """Best effort: a meeting we cannot delete is logged, never blocks the event."""
        with session_scope(self.engine) as session:
            profile = session.get(ConferencingProfile, profile_id) if profile_id else None
            if profile is None:
                return
            credentials = store.conferencing_credentials(self.box, profile)
            name = profile.provider
        adapter = self.conferencing_factory(self.settings, name, credentials)
        try:
            adapter.delete_meeting(meeting_id)
        except ProviderError as error:
            log.warning("could not delete %s meeting %s: %s", name, meeting_id, error)
        finally:
            self._persist_conferencing_credentials(profile_id, adapter)

    # -- bookkeeping -------------------------------------------------------

    def _persist_calendar_credentials(self, profile_id: str, provider: CalendarProvider) -> None:
        refreshed = provider.refreshed_credentials()
        if refreshed is None:
            return
        with session_scope(self.engine) as session:
            profile = session.get(Profile, profile_id)
            if profile is not None:
                store_credentials(session, self.box, profile, refreshed)

    def _persist_conferencing_credentials(
        self, profile_id: str | None, adapter: ConferencingProvider
    ) -> None:
        refreshed = adapter.refreshed_credentials()
        if refreshed is None or profile_id is None:
            return
        with session_scope(self.engine) as session:
            store.store_conferencing_credentials(session, self.box, profile_id, refreshed)

    def _reschedule(self, row_id: int, reason: str, delay: float | None) -> None:
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = reason
            row.lease_owner = row.lease_expires_at = None
            if row.attempts >= MAX_WRITE_ATTEMPTS:
                row.state = store.FAILED
                row.next_attempt_at = None
                if row.request.get("conferencing"):
                    row.conferencing_state = "failing"
                    session.add(row)
                    session.flush()
                    self._notify(session, row, "conferencing_failing", managed_view(row))
            else:
                wait = delay if delay is not None else min(MAX_BACKOFF_SECONDS, 2.0**row.attempts)
                row.next_attempt_at = utcnow() + dt.timedelta(seconds=wait)
            session.add(row)
        log.info("managed event %s: retrying later (%s)", row_id, reason)

    def _release(self, row_id: int, next_attempt_at: dt.datetime | None) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(ManagedEvent)
                .where(col(ManagedEvent.id) == row_id)
                .values(lease_owner=None, lease_expires_at=None, next_attempt_at=next_attempt_at)
            )


# --------------------------------------------------------------------------- helpers


def _retry_after(error: ProviderError) -> float | None:
    return error.retry_after if isinstance(error, RateLimited) else None


def _event_query(calendar_id: str, provider_event_id: str) -> Any:
    from sqlalchemy import select

    return select(Event).where(
        Event.calendar_id == calendar_id, Event.provider_event_id == provider_event_id
    )


def _outbox_query(delivery_id: str) -> Any:
    from sqlalchemy import select

    return select(OutboxMessage.id).where(OutboxMessage.delivery_id == delivery_id)


def _bounds(request: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """Start and end as aware datetimes (all-day events: midnight UTC)."""
    start, end = _event_times(request)
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        return start, end
    as_dt = [dt.datetime.combine(value, dt.time(), dt.UTC) for value in (start, end)]  # type: ignore[arg-type]
    return as_dt[0], as_dt[1]


def _event_times(request: dict[str, Any]) -> tuple[dt.datetime | dt.date, dt.datetime | dt.date]:
    if request.get("all_day"):
        return dt.date.fromisoformat(request["start"]), dt.date.fromisoformat(request["end"])
    return dt.datetime.fromisoformat(request["start"]), dt.datetime.fromisoformat(request["end"])


def _conferencing_json(conference: Conferencing, job: Job) -> dict[str, Any]:
    request_start, request_end = _bounds(job.request)
    adapter = job.plan.adapter if job.plan.kind == "adapter" else ""
    remote = bool(adapter and adapter not in ("eight_by_eight", "explicit"))
    return {
        "key": job.plan.key,
        "adapter": adapter,
        "remote": remote,
        "provider_description": conference.provider_description,
        "join_url": conference.join_url,
        **({"password": conference.password} if conference.password else {}),
        "meeting_id": conference.provider_meeting_id,
        "start": request_start.isoformat(),
        "end": request_end.isoformat(),
        "summary": job.request.get("summary", ""),
        "requested_join_url": (job.request.get("conferencing") or {}).get("join_url"),
        "requested_description": (job.request.get("conferencing") or {}).get(
            "provider_description"
        ),
    }


def _moved(conferencing: dict[str, Any], request: MeetingRequest) -> bool:
    return (
        conferencing.get("start") != request.start.isoformat()
        or conferencing.get("end") != request.end.isoformat()
        or conferencing.get("summary") != request.summary
    )


def _with_times(conferencing: dict[str, Any], request: MeetingRequest) -> dict[str, Any]:
    return conferencing | {
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "summary": request.summary,
    }


def _explicit_changed(conferencing: dict[str, Any], request: MeetingRequest) -> bool:
    return (
        conferencing.get("requested_join_url") != request.join_url
        or conferencing.get("requested_description") != request.provider_description
    )


def _with_join_details(description: str, conferencing: Conferencing) -> str:
    """Attendees see the link even where the provider has no conference fields."""
    lines = [f"Join {conferencing.provider_description}: {conferencing.join_url}"]
    if conferencing.password:
        lines.append(f"Password: {conferencing.password}")
    details = "\n".join(lines)
    return f"{description}\n\n{details}" if description else details
