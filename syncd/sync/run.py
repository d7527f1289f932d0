"""One sync run of one profile: refresh calendars, then page through each calendar's changes.

Every page is committed together with the cursor that follows it (and any rotated
credentials), in its own transaction or, when several were fetched while the one before
committed, with those (``coalesce.py``), so a crash at any moment resumes from the last
committed page: nothing is lost, and re-applying a page is idempotent (upserts keyed by
provider id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from providers.base import (
    AuthRevoked,
    CalendarProvider,
    ChangePage,
    CursorExpired,
    NotFound,
    ProviderError,
    RateLimited,
    Unsupported,
)
from syncd import metrics
from syncd.config import Settings
from syncd.errors import SecretBoxError
from syncd.ids import new_id
from syncd.logs import log_context
from syncd.registry import build_provider
from syncd.store.calendars import (
    clear_calendar_failure,
    failing_calendars,
    live_calendars,
    mark_calendar_deleted,
    record_calendar_failure,
)
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import (
    ExpansionWindow,
    apply_page,
    count_events,
    delete_stale_generation,
    rebuild_series,
    series_needing_expansion,
)
from syncd.store.models import Account, Calendar, Profile, SyncRun, utcnow
from syncd.store.profiles import (
    profile_credentials,
    record_identity,
    remote_calendar,
    store_credentials,
)
from syncd.sync import status
from syncd.sync.coalesce import BATCH_ITEMS, joins, merged, page_items
from syncd.sync.prefetch import prefetched_batches
from syncd.sync.status import cap_next_due

log = logging.getLogger(__name__)

#: Bump when parsing changes so every stored cursor is dropped and calendars resync.
#: 2: CalDAV floating times, exact durations and per-instance replies (issue 15).
#: 3: attendees and organizer of every event (issue 12).
CURSOR_VERSION = 3

#: Callback run after a profile becomes disconnected (the notifier hooks in here).
DisconnectedHook = Callable[[Session, Profile], None]

#: Callback with the changed calendar ids and the run's start time: ``on_changed`` runs
#: inside the transaction of each page that changed them, ``on_synced`` inside
#: ``_finish``'s (the notifier queues one ``change`` per channel and run, coalesced, held
#: by the pages and released by the finish).
SyncedHook = Callable[[Session, Profile, set[str], dt.datetime], None]


@dataclass
class SyncOutcome:
    profile_id: str
    #: ok | partial | auth_revoked | transient_error | unsupported | key_error | error |
    #: skipped | stopped
    outcome: str
    pages: int = 0
    changes: int = 0
    skipped_items: int = 0
    calendars: int = 0
    detail: str | None = None
    #: Calendars whose stored events this run changed (committed pages only).
    changed_calendar_ids: set[str] = dataclasses.field(default_factory=set)
    #: Calendars that failed (or still back off) while the others synced: id → reason.
    failed_calendars: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Calendars the provider said are gone (404) during this run.
    deleted_calendars: int = 0


class StopRequested(Exception):
    """The daemon is shutting down: stop between pages."""


@dataclass
class SyncContext:
    """What a sync run needs besides the profile id."""

    engine: Engine
    settings: Settings
    box: SecretBox
    worker_id: str = dataclasses.field(default_factory=lambda: new_id("wrk", 6))
    stop_event: threading.Event = dataclasses.field(default_factory=threading.Event)
    provider_factory: Callable[[Settings, str, dict[str, Any]], CalendarProvider] = build_provider
    on_disconnected: list[DisconnectedHook] = dataclasses.field(default_factory=list)
    on_synced: list[SyncedHook] = dataclasses.field(default_factory=list)
    on_changed: list[SyncedHook] = dataclasses.field(default_factory=list)
    lease_seconds: float = 300.0


def sync_profile(context: SyncContext, profile_id: str) -> SyncOutcome:
    """Run one sync of ``profile_id``; never raises for provider trouble (it is recorded).

    Everything logged during the run carries its profile and account ids.
    """
    with log_context(profile_id=profile_id, worker=context.worker_id) as fields:
        return _sync_profile(context, profile_id, fields)


def _sync_profile(context: SyncContext, profile_id: str, log_fields: dict[str, Any]) -> SyncOutcome:
    started_at = utcnow()
    clock = time.monotonic()
    with session_scope(context.engine) as session:
        profile = session.get(Profile, profile_id)
        if profile is None:
            return SyncOutcome(profile_id, "skipped", detail="profile no longer exists")
        if profile.sync_status == status.DISCONNECTED:
            return SyncOutcome(profile_id, "skipped", detail="profile is disconnected")
        account = session.get(Account, profile.account_id)
        log_fields["account_id"] = profile.account_id
        default_tz = account.timezone if account else "Etc/UTC"
        credentials, unreadable = _credentials_or_error(context.box, profile)
        run = SyncRun(profile_id=profile_id, worker=context.worker_id, started_at=started_at)
        session.add(run)
        profile.last_attempt_at = started_at
        session.add(profile)
        session.flush()
        run_id = run.id
        provider_name = profile.provider
        list_due = profile.calendars_listed_at is None or (
            (started_at - profile.calendars_listed_at).total_seconds()
            >= context.settings.calendar_list_interval
        )
        # Read here, in the run's first transaction, unless the listing (first thing in
        # the run) may change them.
        calendars = None if list_due else live_calendars(session, profile_id)

    outcome = SyncOutcome(profile_id, "ok")
    try:
        if unreadable is not None:
            raise unreadable
        provider = metrics.InstrumentedProvider(
            context.provider_factory(context.settings, provider_name, credentials), provider_name
        )
        _ProfileSync(context, profile_id, provider, default_tz, outcome, started_at).run(  # type: ignore[arg-type]
            list_due, calendars
        )
        if outcome.failed_calendars:
            outcome.outcome = "partial"
            outcome.detail = "; ".join(
                f"{calendar_id}: {reason}"
                for calendar_id, reason in outcome.failed_calendars.items()
            )
    except AuthRevoked as error:
        outcome.outcome, outcome.detail = "auth_revoked", str(error) or "credentials refused"
    except StopRequested as stop:
        outcome.outcome, outcome.detail = "stopped", str(stop) or "daemon shutting down"
    except Unsupported as error:  # before ProviderError: permanent, never retried
        outcome.outcome, outcome.detail = "unsupported", str(error)
    except SecretBoxError:
        outcome.outcome, outcome.detail = "key_error", status.UNDECRYPTABLE
    except ProviderError as error:
        outcome.outcome, outcome.detail = "transient_error", f"{type(error).__name__}: {error}"
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        _finish(context, run_id, profile_id, outcome, started_at, retry_after)
        metrics.record_sync(provider_name, outcome.outcome, time.monotonic() - clock)
        return outcome
    except Exception as error:  # a bug or an unexpected payload: record it, keep the daemon alive
        log.exception("sync of profile %s failed unexpectedly", profile_id)
        outcome.outcome, outcome.detail = "error", f"{type(error).__name__}: {error}"
    _finish(context, run_id, profile_id, outcome, started_at, None)
    metrics.record_sync(provider_name, outcome.outcome, time.monotonic() - clock)
    return outcome


def _credentials_or_error(
    box: SecretBox, profile: Profile
) -> tuple[dict[str, Any], SecretBoxError | None]:
    """The profile's credentials, or the error to record when no configured key decrypts
    them (raised inside the run's error handling, so the run and its lease are finished)."""
    try:
        return profile_credentials(box, profile), None
    except SecretBoxError as error:
        return {}, error


def _finish(
    context: SyncContext,
    run_id: int | None,
    profile_id: str,
    outcome: SyncOutcome,
    started_at: dt.datetime,
    retry_after: float | None,
) -> None:
    settings = context.settings
    now = utcnow()
    with session_scope(context.engine) as session:
        # Locked: a request_sync_now landing now waits, and is not overwritten below.
        profile = session.get(Profile, profile_id, with_for_update=True)
        if run_id is not None:  # one UPDATE: the row need not be loaded to be closed
            session.execute(
                update(SyncRun)
                .where(col(SyncRun.id) == run_id)
                .values(
                    finished_at=now,
                    outcome=outcome.outcome,
                    detail=outcome.detail,
                    pages=outcome.pages,
                    changes=outcome.changes,
                )
            )
        if profile is None:
            return
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


class _ProfileSync:
    """The body of one run; separate so each step reads as a method."""

    def __init__(
        self,
        context: SyncContext,
        profile_id: str,
        provider: CalendarProvider,
        default_tz: str,
        outcome: SyncOutcome,
        run_started_at: dt.datetime,
    ) -> None:
        self.context = context
        self.run_started_at = run_started_at
        self.profile_id = profile_id
        self.provider = provider
        self.default_tz = default_tz
        self.outcome = outcome
        now = utcnow()
        self.started_at = now
        #: Whether the calendar being synced had its series extended in a page's commit.
        self._expanded = False
        self.window = ExpansionWindow.around(
            now,
            context.settings.expansion_history_days,
            context.settings.expansion_horizon_days,
        )

    def run(self, list_due: bool, calendars: list[Calendar] | None = None) -> None:
        """Sync each calendar (``calendars``: read by the caller, or None to read them
        here, after the listing when it is due)."""
        if list_due:
            self._refresh_calendars()
        if calendars is None:
            with session_scope(self.context.engine) as session:
                calendars = live_calendars(session, self.profile_id)
        failures: list[tuple[Calendar, Exception]] = []
        for calendar in calendars:
            self._check_stop()
            if calendar.next_retry_at is not None and calendar.next_retry_at > self.started_at:
                self.outcome.failed_calendars[calendar.id] = calendar.last_error or "failing"
                continue  # backing off: the profile's other calendars go on
            try:
                self._expanded = False
                self._sync_calendar(calendar)
                if not self._expanded:  # no complete page committed the check
                    self._extend_expansions(calendar)
            except (AuthRevoked, RateLimited, StopRequested):
                raise  # the account's trouble, not this calendar's
            except NotFound:
                self._calendar_deleted(calendar)
                continue
            except Exception as error:  # noqa: BLE001 - recorded per calendar, below
                failures.append((calendar, error))
                continue
            if calendar.failure_count:
                with session_scope(self.context.engine) as session:
                    clear_calendar_failure(session, calendar.id)
            self.outcome.calendars += 1
        self._record_failures(failures)

    def _calendar_deleted(self, calendar: Calendar) -> None:
        """404 on the calendar itself: it is gone; so are its events, at once."""
        with session_scope(self.context.engine) as session:
            removed = mark_calendar_deleted(session, calendar.id, utcnow())
            profile = session.get(Profile, self.profile_id)
            if profile is not None:
                self._changed(session, profile, calendar.id)
        log.warning("calendar %s is gone at the provider: %d events removed", calendar.id, removed)
        self.outcome.deleted_calendars += 1
        self.outcome.changed_calendar_ids.add(calendar.id)

    def _record_failures(self, failures: list[tuple[Calendar, Exception]]) -> None:
        """Record each failed calendar; when none synced, the run fails as a whole.

        With some calendars synced, each failed one backs off on its own (the profile
        keeps its poll interval); with none synced the profile backs off instead.
        """
        if not failures:
            return
        # Calendars synced, or others still backing off: a partial failure.
        partial = self.outcome.calendars > 0 or bool(self.outcome.failed_calendars)
        now = utcnow()
        settings = self.context.settings
        with session_scope(self.context.engine) as session:
            for calendar, error in failures:
                reason = f"{type(error).__name__}: {error}"
                retry_at = (
                    status.calendar_retry_at(
                        now, calendar.failure_count + 1, settings.max_backoff, settings.poll_jitter
                    )
                    if partial
                    else None
                )
                record_calendar_failure(session, calendar.id, reason, now, retry_at)
                self.outcome.failed_calendars[calendar.id] = reason
                log.warning("sync of calendar %s failed: %s", calendar.id, reason)
        if not partial:
            self.outcome.failed_calendars.clear()
            raise failures[0][1]

    def _check_stop(self) -> None:
        if self.context.stop_event.is_set():
            raise StopRequested()

    def _refresh_calendars(self) -> None:
        remote = self.provider.list_calendars()
        with session_scope(self.context.engine) as session:
            stored = {
                calendar.provider_calendar_id: calendar
                for calendar in session.exec(
                    select(Calendar).where(Calendar.profile_id == self.profile_id)
                )
            }
            seen = set()
            for item in remote:
                seen.add(item.provider_calendar_id)
                calendar = stored.get(item.provider_calendar_id) or Calendar(
                    id=new_id("cal", 16),
                    profile_id=self.profile_id,
                    provider_calendar_id=item.provider_calendar_id,
                )
                calendar.name = item.name
                calendar.readonly = item.readonly
                calendar.primary = item.primary
                calendar.integrated_conferencing_available = item.integrated_conferencing_available
                calendar.timezone = item.timezone
                calendar.deleted = False
                session.add(calendar)
            for provider_id, calendar in stored.items():
                if provider_id not in seen and not calendar.deleted:
                    calendar.deleted = True
                    session.add(calendar)
            profile = session.get(Profile, self.profile_id)
            if profile is not None:
                profile.calendars_listed_at = utcnow()
                record_identity(profile, self.provider.service_identity())
                self._persist_credentials(session, profile)
                session.add(profile)

    def _persist_credentials(self, session: Session, profile: Profile) -> None:
        refreshed = self.provider.refreshed_credentials()
        if refreshed is not None:
            store_credentials(session, self.context.box, profile, refreshed)

    def _sync_calendar(self, calendar: Calendar) -> None:
        cursor = calendar.sync_cursor if calendar.cursor_version == CURSOR_VERSION else None
        try:
            self._consume(calendar, cursor)
        except CursorExpired:
            log.info("cursor of calendar %s expired: full resync", calendar.id)
            with session_scope(self.context.engine) as session:
                stored = session.get(Calendar, calendar.id)
                if stored is not None:
                    stored.sync_cursor = None
                    stored.full_sync_in_progress = False
                    session.add(stored)
            calendar.sync_cursor = None
            calendar.full_sync_in_progress = False
            self._consume(calendar, None)

    def _consume(self, calendar: Calendar, cursor: str | None) -> None:
        """Apply pages from ``cursor`` on, each committed with the cursor after it."""
        # A full sync from the start stamps a new generation even when an interrupted one
        # left rows with its own: those may be gone at the provider by now. Only a full
        # sync resumed from a page cursor continues its generation.
        generation = calendar.sync_generation + (1 if cursor is None else 0)
        # The next pages are fetched (and parsed by the adapter) while this one commits;
        # those already fetched when it is done are committed together, with the last
        # one's cursor.
        pages = self.provider.sync_events(remote_calendar(calendar), cursor)
        batches = prefetched_batches(
            iter(pages),
            is_last=lambda page: page.complete,
            joins=joins,
            ahead=BATCH_ITEMS,
            weight=page_items,
        )
        for batch in batches:
            self._check_stop()
            self._commit_page(calendar.id, merged(batch), generation)
            self.outcome.pages += len(batch)

    def _commit_page(self, calendar_id: str, page: ChangePage, generation: int) -> None:
        settings = self.context.settings
        with session_scope(self.context.engine) as session:
            calendar = session.get(Calendar, calendar_id)
            # Locked for the page: a concurrent claim by another daemon either committed
            # before (we see its owner and stop) or skips the row while this page, which
            # renews our lease, commits.
            profile = session.get(Profile, self.profile_id, with_for_update=True)
            if calendar is None or profile is None:
                raise StopRequested()
            if profile.lease_owner not in (None, self.context.worker_id):
                # our lease was taken over (or never ours): another daemon owns it now
                raise StopRequested(f"daemon {profile.lease_owner} is syncing this profile")
            if page.full_sync:
                calendar.full_sync_in_progress = True
                calendar.sync_generation = generation
            result = apply_page(
                session,
                calendar,
                page.upserts,
                page.deletions,
                calendar.sync_generation,
                self.window,
                self.default_tz,
            )
            if page.cursor is not None:
                calendar.sync_cursor = page.cursor
                calendar.cursor_version = CURSOR_VERSION
            stale_deleted = 0
            if page.complete and page.full_sync:
                stale_deleted = self._finish_full_sync(
                    session, calendar, settings.empty_resync_guard
                )
            if page.complete:
                calendar.last_synced_at = utcnow()
                # The run's expansion check rides in its last page's transaction.
                self._extend_expansions_in(session, calendar_id)
                self._expanded = True
            self._persist_credentials(session, profile)
            if profile.lease_owner == self.context.worker_id:
                profile.lease_expires_at = utcnow() + dt.timedelta(
                    seconds=self.context.lease_seconds
                )
            if result.upserted or result.deleted or stale_deleted:
                self._changed(session, profile, calendar_id)
            session.add(profile)
            session.add(calendar)
        self.outcome.changes += result.upserted + result.deleted
        if result.upserted or result.deleted or stale_deleted:
            self.outcome.changed_calendar_ids.add(calendar_id)
        self.outcome.skipped_items += result.skipped + page.skipped

    def _changed(self, session: Session, profile: Profile, calendar_id: str) -> None:
        """This transaction changes ``calendar_id``'s events: the hooks queue the run's
        ``change`` notifications in it, so they commit (or roll back) with the change."""
        for changed_hook in self.context.on_changed:
            changed_hook(session, profile, {calendar_id}, self.run_started_at)

    def _finish_full_sync(self, session: Session, calendar: Calendar, guard: int) -> int:
        """Swap in the full sync's result: drop every item it did not list (returns how many).

        A calendar that had many events and now lists none is more likely a provider
        glitch than a mass deletion: wait for a second full sync to agree.
        """
        generation = calendar.sync_generation
        seen = count_events(session, calendar.id, generation)
        previous = count_events(session, calendar.id) - seen
        if seen == 0 and previous >= guard and not calendar.empty_resync_pending:
            log.warning(
                "calendar %s came back empty after holding %d events; keeping them until "
                "a second full sync confirms",
                calendar.id,
                previous,
            )
            calendar.empty_resync_pending = True
            calendar.sync_cursor = None
            calendar.full_sync_in_progress = False
            return 0
        deleted = delete_stale_generation(session, calendar.id, generation)
        calendar.empty_resync_pending = False
        calendar.full_sync_in_progress = False
        return deleted

    def _extend_expansions(self, calendar: Calendar) -> None:
        """Keep recurring series materialised as far ahead as the moving window reaches."""
        with session_scope(self.context.engine) as session:
            self._extend_expansions_in(session, calendar.id)

    def _extend_expansions_in(self, session: Session, calendar_id: str) -> None:
        slack = dt.timedelta(days=max(1, self.context.settings.expansion_horizon_days // 10))
        stale = series_needing_expansion(session, calendar_id, self.window, slack)
        if stale:
            rebuild_series(session, calendar_id, stale, self.window, self.default_tz)
