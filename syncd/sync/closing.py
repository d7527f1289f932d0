"""The closing transaction of a sync run: record its outcome on the run and the profile.

Whatever the outcome, the run row is closed, the lease released and the next due time
set; a success marks the profile synced, refused credentials disconnect it, a transient
failure backs it off. The run's body settles here what needed no transaction of its own
(the cursors of calendars whose last page changed nothing).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol

from sqlmodel import Session

from syncd.store.calendars import failing_calendars
from syncd.store.db import session_scope
from syncd.store.models import Profile, utcnow
from syncd.store.sync_runs import close_run_row
from syncd.sync import status
from syncd.sync.context import SyncContext, SyncOutcome
from syncd.sync.status import cap_next_due

log = logging.getLogger(__name__)


class Settling(Protocol):
    """The part of a run's body that finishes in its closing transaction."""

    def settle(self, session: Session, profile: Profile) -> None: ...


def close_run(
    context: SyncContext,
    run_id: int | None,
    profile_id: str,
    outcome: SyncOutcome,
    started_at: dt.datetime,
    retry_after: float | None,
    body: Settling | None,
) -> None:
    """The run's closing transaction: the run row closed, the profile's state and next
    due time set from ``outcome``, the lease released, and (when the lease is still
    ours) whatever ``body`` settles at the close."""
    settings = context.settings
    now = utcnow()
    with session_scope(context.engine) as session:
        # Locked: a request_sync_now landing now waits, and is not overwritten below.
        profile = session.get(Profile, profile_id, with_for_update=True)
        if run_id is not None:
            close_run_row(
                session,
                run_id,
                now,
                outcome.outcome,
                outcome.detail,
                outcome.pages,
                outcome.changes,
            )
        if profile is None:
            return
        if body is not None and profile.lease_owner in (None, context.worker_id):
            body.settle(session, profile)
        if outcome.changed_calendar_ids:  # whatever the outcome: those pages are committed
            for synced_hook in context.on_synced:
                synced_hook(session, profile, outcome.changed_calendar_ids, started_at)
        # A push (or an operator) asked for a sync while this one ran: it may have missed
        # that change, so the request stands.
        requested = profile.next_due_at if _requested_during(profile, started_at) else None
        if outcome.outcome in ("ok", "partial"):
            _record_success(context, session, profile, outcome, started_at, requested)
        elif outcome.outcome in ("auth_revoked", "unsupported"):
            if _disconnect(profile, outcome):
                log.warning("profile %s disconnected: %s", profile_id, outcome.detail)
                for hook in context.on_disconnected:
                    hook(session, profile)
        elif outcome.outcome == "stopped":
            profile.next_due_at = now
        else:
            status.mark_failed(
                profile,
                now,
                outcome.detail or "sync failed",
                settings.max_backoff,
                settings.poll_jitter,
                retry_after,
            )
            log.warning(
                "sync of profile %s failed (attempt %d): %s",
                profile_id,
                profile.failure_count,
                outcome.detail,
            )
        if profile.lease_owner == context.worker_id:
            profile.lease_owner = None
            profile.lease_expires_at = None
        session.add(profile)


def _disconnect(profile: Profile, outcome: SyncOutcome) -> bool:
    """Refused credentials or an unsupported server: True on the move to disconnected."""
    if outcome.outcome == "unsupported":
        return status.mark_unsupported(profile, outcome.detail or "the server is unsupported")
    return status.mark_auth_revoked(profile, outcome.detail or "credentials refused")


def _record_success(
    context: SyncContext,
    session: Session,
    profile: Profile,
    outcome: SyncOutcome,
    started_at: dt.datetime,
    requested: dt.datetime | None,
) -> None:
    """A run that synced (every calendar, or all but the failing ones it lists)."""
    settings = context.settings
    status.mark_synced(profile, started_at, settings.poll_interval, settings.poll_jitter)
    if outcome.outcome == "partial":
        status.mark_partially_synced(profile, failing_calendars(session, profile.id))
    cap_next_due(profile, started_at, settings)
    if requested is not None and profile.next_due_at is not None:
        profile.next_due_at = min(profile.next_due_at, requested)
    log.info(
        "synced profile %s: %d calendars, %d pages, %d changes, %d skipped items, "
        "%d failed calendars",
        profile.id,
        outcome.calendars,
        outcome.pages,
        outcome.changes,
        outcome.skipped_items,
        len(outcome.failed_calendars),
    )


def _requested_during(profile: Profile, started_at: dt.datetime) -> bool:
    """Whether ``next_due_at`` was moved after the run started (``request_sync_now``)."""
    return profile.next_due_at is not None and profile.next_due_at > started_at
