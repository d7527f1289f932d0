"""One sync run of one profile: refresh calendars, then page through each calendar's changes.

Every page is committed together with the cursor that follows it (and any rotated
credentials), in its own transaction or, when several were fetched while the one before
committed, with those (``coalesce.py``), so a crash at any moment resumes from the last
committed page: nothing is lost, and re-applying a page is idempotent (upserts keyed by
provider id).

A calendar's last page that changes nothing (most incremental syncs) needs no transaction
of its own: its cursor and sync time are settled in the run's closing transaction
(``closing.py``). A crash before that only means the next run asks again from the cursor
before it, which is what it would have done anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sqlmodel import Session, select

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
from syncd.errors import SecretBoxError
from syncd.ids import new_id
from syncd.logs import log_context
from syncd.store.calendars import (
    clear_calendar_failure,
    live_calendars,
    mark_calendar_deleted,
    record_calendar_failure,
    settle_calendar,
)
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import (
    ExpansionWindow,
    apply_page,
    count_by_generation,
    delete_stale_generation,
    rebuild_series,
    series_needing_expansion,
)
from syncd.store.models import Calendar, Profile, utcnow
from syncd.store.profiles import (
    profile_credentials,
    record_identity,
    remote_calendar,
    store_credentials,
)
from syncd.store.sync_runs import open_run
from syncd.store.tenants import account_timezone
from syncd.sync import status
from syncd.sync.closing import close_run
from syncd.sync.coalesce import BATCH_ITEMS, joins, merged, page_items
from syncd.sync.context import StopRequested, SyncContext, SyncOutcome
from syncd.sync.prefetch import prefetched_batches

__all__ = ["CURSOR_VERSION", "StopRequested", "SyncContext", "SyncOutcome", "sync_profile"]

log = logging.getLogger(__name__)

#: Bump when parsing changes so every stored cursor is dropped and calendars resync.
#: 2: CalDAV floating times, exact durations and per-instance replies (issue 15).
#: 3: attendees and organizer of every event (issue 12).
CURSOR_VERSION = 3

#: How far the window's end moves before a calendar whose series all reached far enough
#: is checked again. Series are extended once they end within the slack (a tenth of the
#: horizon, at least a day) of the window's end, so an hour late is still ahead of it.
EXPANSION_CHECK_STEP = dt.timedelta(hours=1)


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
        log_fields["account_id"] = profile.account_id
        default_tz = account_timezone(session, profile.account_id) or "Etc/UTC"
        credentials, unreadable = _credentials_or_error(context.box, profile)
        run_id = open_run(session, profile_id, context.worker_id, started_at)
        profile.last_attempt_at = started_at
        session.add(profile)
        provider_name = profile.provider
        list_due = profile.calendars_listed_at is None or (
            (started_at - profile.calendars_listed_at).total_seconds()
            >= context.settings.calendar_list_interval
        )
        # Read here, in the run's first transaction, unless the listing (first thing in
        # the run) may change them.
        calendars = None if list_due else live_calendars(session, profile_id)

    outcome = SyncOutcome(profile_id, "ok")
    body: _ProfileSync | None = None
    try:
        if unreadable is not None:
            raise unreadable
        provider = metrics.InstrumentedProvider(
            context.provider_factory(context.settings, provider_name, credentials), provider_name
        )
        body = _ProfileSync(context, profile_id, provider, default_tz, outcome, started_at)  # type: ignore[arg-type]
        body.run(list_due, calendars)
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
        close_run(context, run_id, profile_id, outcome, started_at, retry_after, body)
        metrics.record_sync(provider_name, outcome.outcome, time.monotonic() - clock)
        return outcome
    except Exception as error:  # a bug or an unexpected payload: record it, keep the daemon alive
        log.exception("sync of profile %s failed unexpectedly", profile_id)
        outcome.outcome, outcome.detail = "error", f"{type(error).__name__}: {error}"
    close_run(context, run_id, profile_id, outcome, started_at, None, body)
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
        #: Calendars whose last page changed nothing, with the cursor after it: settled in
        #: the run's closing transaction (``settle``) instead of one of their own.
        self._unchanged: list[tuple[str, str | None]] = []
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
            page = merged(batch)
            if self._changes_nothing(page):
                self._unchanged.append((calendar.id, page.cursor))
                self._expanded = True  # checked by ``settle``
            else:
                self._commit_page(calendar.id, page, generation)
            self.outcome.pages += len(batch)

    def _changes_nothing(self, page: ChangePage) -> bool:
        """Whether ``page`` only moves the calendar's cursor on: an incremental sync's
        last page with no items and none skipped (credentials the provider refreshed
        are stored by ``settle``)."""
        return (
            page.complete
            and not page.full_sync
            and not page.upserts
            and not page.deletions
            and not page.skipped
        )

    def settle(self, session: Session, profile: Profile) -> None:
        """In the run's closing transaction: store the cursors of the calendars whose
        last page changed nothing and run their expansion check, and store credentials
        the provider refreshed since the last page."""
        for calendar_id, cursor in self._unchanged:
            if not settle_calendar(session, calendar_id, cursor, CURSOR_VERSION, utcnow()):
                continue  # gone or deleted meanwhile
            stale = self._series_to_extend(session, calendar_id)
            if stale:  # in a savepoint: a failure must not lose the run's closing
                try:
                    with session.begin_nested():
                        rebuild_series(session, calendar_id, stale, self.window, self.default_tz)
                except Exception:  # noqa: BLE001 - still stale: retried by the next run
                    log.exception("extending the series of calendar %s failed", calendar_id)
        self._persist_credentials(session, profile)

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
        seen, previous = count_by_generation(session, calendar.id, generation)
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
        # nothing of an earlier generation (a new calendar's first sync): nothing to drop
        deleted = delete_stale_generation(session, calendar.id, generation) if previous else 0
        calendar.empty_resync_pending = False
        calendar.full_sync_in_progress = False
        return deleted

    def _extend_expansions(self, calendar: Calendar) -> None:
        """Keep recurring series materialised as far ahead as the moving window reaches."""
        with session_scope(self.context.engine) as session:
            self._extend_expansions_in(session, calendar.id)

    def _extend_expansions_in(self, session: Session, calendar_id: str) -> None:
        stale = self._series_to_extend(session, calendar_id)
        if stale:
            rebuild_series(session, calendar_id, stale, self.window, self.default_tz)

    def _series_to_extend(self, session: Session, calendar_id: str) -> list[str]:
        """The calendar's series whose spans end too early for the window; not asked
        again until the window's end has moved ``EXPANSION_CHECK_STEP`` past a check
        that found none (every writer expands what it writes to its own window)."""
        checked = self.context.expansion_checks.get(calendar_id)
        if checked is not None and dt.timedelta(0) <= self.window.end - checked < (
            EXPANSION_CHECK_STEP
        ):
            return []
        slack = dt.timedelta(days=max(1, self.context.settings.expansion_horizon_days // 10))
        stale = series_needing_expansion(session, calendar_id, self.window, slack)
        if not stale:
            self.context.expansion_checks[calendar_id] = self.window.end
        return stale
