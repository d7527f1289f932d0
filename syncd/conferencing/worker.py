"""The daemon job that writes managed events to providers, with conferencing attached.

One due ``ManagedEvent`` is processed in steps, each ending in a commit, so a crash (or
``kill -9``) at any point is resumed by the next attempt without doing anything twice:

- load and plan (``context.load_job``, ``plan``): the leased row's snapshot, and which
  conferencing its request asks for, resolved against the account's profiles;
- meeting (``meeting``): reuse, find again or create the meeting, committed *before*
  the event is written: how a meeting is made idempotent is told there;
- write (``write``): the event to the calendar provider under a deterministic id, then
  integrated conferencing, then one transaction that marks the row written and enqueues
  the webhooks (``webhooks``);
- delete (``delete``): the event and its meeting off the provider.

Conferencing that fails for good never blocks the event: it is written without
conferencing and ``conferencing_failing`` is signalled. Provider writes are retried with
backoff (``Retry``) until they succeed or fail for good.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from sqlalchemy import Engine

from syncd.conferencing.capabilities import build_conferencing_provider
from syncd.conferencing.context import (
    ConferencingFactory,
    Job,
    ProviderFactory,
    Retry,
    WorkerContext,
    claim_jobs,
    load_job,
)
from syncd.conferencing.delete import delete
from syncd.conferencing.finish import finish_writes
from syncd.conferencing.group_commit import GroupCommit
from syncd.conferencing.jobs import run_job
from syncd.conferencing.limits import WriteLimits
from syncd.conferencing.webhooks import notify_subscribers
from syncd.conferencing.write import write
from syncd.config import Settings
from syncd.cronofy.events import managed_view
from syncd.ids import new_id
from syncd.registry import build_provider
from syncd.statuses import ConferencingState, ManagedEventState
from syncd.store import managed as store
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.managed_requests import is_job
from syncd.store.managed_worker import release_managed_event
from syncd.store.models import ManagedEvent, utcnow

__all__ = ["MAX_BACKOFF_SECONDS", "MAX_WRITE_ATTEMPTS", "ManagedEventWorker"]

log = logging.getLogger(__name__)

#: Write attempts before a managed event fails for good (backoff capped at MAX_BACKOFF).
MAX_WRITE_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 600.0


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
        #: Seconds a job waits for a slot of its calendar and provider before handing
        #: its row back (well inside its lease).
        self.slot_wait = self.lease_seconds / 4
        self.context = WorkerContext(
            engine, settings, box, self.worker_id, provider_factory, conferencing_factory
        )
        self.context.finisher = GroupCommit(partial(finish_writes, self.context))
        #: Concurrent writes per calendar and per provider (shared by the pool's threads).
        self.limits = WriteLimits(
            settings.managed_writes_per_calendar, settings.managed_writes_per_provider
        )

    def claim(self, limit: int) -> list[int]:
        return store.claim_due_managed_events(
            self.engine, self.worker_id, limit, self.lease_seconds
        )

    def claim_jobs(self, limit: int) -> list[Job]:
        """Lease up to ``limit`` due rows with their snapshots (one transaction)."""
        if limit <= 0:
            return []
        return claim_jobs(self.context, limit, self.lease_seconds)

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
            job = load_job(self.context, row_id)
        except Exception as error:  # a bug or unexpected payload: keep the daemon alive
            log.exception("managed event %s failed unexpectedly", row_id)
            self._reschedule(row_id, f"{type(error).__name__}: {error}", None)
            return
        if job is not None:
            self.process_job(job)

    def process_job(self, job: Job) -> None:
        """Do the work of a leased row's snapshot (``claim_jobs``); never raises."""
        row_id = job.row_id
        try:
            if job.state not in (ManagedEventState.PENDING_DELETE, ManagedEventState.PENDING_WRITE):
                release_managed_event(self.engine, row_id, next_attempt_at=None)
                return
            with self.limits.hold(job.calendar_id, job.provider_name, self.slot_wait) as held:
                job.release_slots = held.release
                if not held:  # its calendar or provider is busy: due again, attempts kept
                    release_managed_event(self.engine, row_id, next_attempt_at=utcnow())
                elif job.state == ManagedEventState.PENDING_DELETE:
                    delete(self.context, job)
                elif is_job(job.event_id):  # a reply, or an update of someone else's event
                    run_job(self.context, job)
                else:
                    write(self.context, job)
        except Retry as retry:
            self._reschedule(row_id, str(retry), retry.delay)
        except Exception as error:  # a bug or unexpected payload: keep the daemon alive
            log.exception("managed event %s failed unexpectedly", row_id)
            self._reschedule(row_id, f"{type(error).__name__}: {error}", None)

    def _reschedule(self, row_id: int, reason: str, delay: float | None) -> None:
        with session_scope(self.engine) as session:
            row = session.get(ManagedEvent, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = reason
            row.lease_owner = row.lease_expires_at = None
            if row.attempts >= MAX_WRITE_ATTEMPTS:
                row.state = ManagedEventState.FAILED
                row.next_attempt_at = None
                if row.request.get("conferencing"):
                    row.conferencing_state = ConferencingState.FAILING
                    session.add(row)
                    session.flush()
                    notify_subscribers(session, row, "conferencing_failing", managed_view(row))
            else:
                wait = delay if delay is not None else min(MAX_BACKOFF_SECONDS, 2.0**row.attempts)
                row.next_attempt_at = utcnow() + dt.timedelta(seconds=wait)
            session.add(row)
        log.info("managed event %s: retrying later (%s)", row_id, reason)
