"""Provider push: a live channel per calendar, and notifications turned into syncs.

Polling alone makes a change wait up to ``poll_interval``. Google (``events.watch``) and
Microsoft (Graph subscriptions) can call us back instead; a notification only says "this
calendar changed", so all it does is make the profile due now (``request_sync_now``) and
the ordinary incremental sync fetches the change. Nothing is trusted from the payload.

Decisions worth knowing:

* Push is on when ``push_base_url`` (default: ``public_base_url``) is set. A maintenance
  pass in the daemon keeps one live channel per calendar of every *active* profile whose
  provider supports push, renews channels expiring within ``push_renew_margin``
  (in place where the provider can, Graph; else a new channel, then the old one is
  stopped, Google), and stops channels of disconnected profiles and vanished calendars.
* Each channel has its own random secret (Google's channel token, Graph's clientState);
  only its SHA-256 is stored and notifications are checked in constant time. A channel
  id alone is not enough to trigger syncs.
* Polling stays the safety net: with push on, a profile is polled at least every
  ``FORCED_POLL_FRACTION`` × ``staleness_bound`` whatever ``poll_interval`` says, so a lost
  notification (or a provider that silently dropped a channel) never leaves data stale.
* Several daemons on one Postgres: a session advisory lock makes one of them run the
  pass at a time, so no calendar gets two channels from a race.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine, delete, or_
from sqlmodel import col, select

from providers.base import CalendarProvider, NotFound, ProviderError, PushNotification
from syncd.config import Settings
from syncd.errors import UnknownProvider
from syncd.ids import new_id
from syncd.registry import provider_class
from syncd.store.advisory import PUSH_MAINTENANCE, exclusively
from syncd.store.db import read_only, session_scope
from syncd.store.models import Calendar, Profile, PushChannel, utcnow
from syncd.store.profiles import profile_credentials, remote_calendar, store_credentials
from syncd.sync.leases import request_sync_now
from syncd.sync.status import (
    ACTIVE,
    FORCED_POLL_FRACTION,
    PENDING,
    push_base_url,
    push_enabled,
)

__all__ = [
    "FORBIDDEN",
    "FORCED_POLL_FRACTION",
    "IGNORED",
    "SCHEDULED",
    "UNKNOWN",
    "PushMaintenance",
    "PushReport",
    "PushVerdict",
    "accept_notifications",
    "callback_url",
    "hash_secret",
    "push_base_url",
    "push_enabled",
    "secret_matches",
    "stop_profile_channels",
]

if TYPE_CHECKING:  # the context is built by syncd.sync.run, which needs nothing from here
    from syncd.sync.run import SyncContext

log = logging.getLogger(__name__)

#: Where a provider's notifications arrive, under the push base URL (the route is
#: ``syncd/api/routes/push.py``).
CALLBACK_PATH = "/push/{provider}"
#: Most distinct channel ids (and, separately, resource ids) looked up per callback.
MAX_LOOKUPS = 100
#: Seconds between maintenance passes (the first runs when the daemon starts).
MAINTENANCE_SECONDS = 60.0


# ---------------------------------------------------------------------------
# Settings and secrets
# ---------------------------------------------------------------------------


def callback_url(settings: Settings, provider: str) -> str | None:
    """Where ``provider`` posts notifications (``/push/<name>``); None when push is off."""
    base = push_base_url(settings)
    return (
        f"{base}{CALLBACK_PATH.format(provider=provider)}" if base and _can_push(provider) else None
    )


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(presented: str | None, secret_hash: str) -> bool:
    """Constant-time check of a presented token/clientState against the stored hash."""
    return hmac.compare_digest(hash_secret(presented or ""), secret_hash)


# ---------------------------------------------------------------------------
# Notifications (called by syncd/api/routes/push.py)
# ---------------------------------------------------------------------------

#: What a callback amounted to; the route maps these onto HTTP statuses.
SCHEDULED, IGNORED, UNKNOWN, FORBIDDEN = "scheduled", "ignored", "unknown", "forbidden"


@dataclass
class PushVerdict:
    """How the notifications of one callback fared, entry by entry."""

    scheduled: set[str] = field(default_factory=set)  # profile ids
    ignored: int = 0
    unknown: int = 0
    forbidden: int = 0

    @property
    def outcome(self) -> str:
        if self.scheduled:
            return SCHEDULED
        if self.ignored:
            return IGNORED
        return FORBIDDEN if self.forbidden else UNKNOWN


def accept_notifications(
    engine: Engine, provider: str, notifications: Sequence[PushNotification]
) -> PushVerdict:
    """Check each notification against its channel's secret; schedule the profiles.

    The adapter parsed them (``CalendarProvider.parse_push_notification``); nothing in
    them is trusted until a channel of ``provider`` matches. A forged entry in a batch
    is dropped without affecting the genuine ones.
    """
    verdict = PushVerdict()
    channels = _channels_named(engine, provider, notifications)
    for notification in notifications:
        key = _channel_key(notification)
        channel = channels.get(key) if key is not None else None
        if channel is None:
            verdict.unknown += 1
        elif not _genuine(notification, channel):
            verdict.forbidden += 1
        elif notification.lifecycle is not None:
            if _lifecycle(engine, channel, notification.lifecycle):
                verdict.scheduled.add(channel.profile_id)
            else:
                verdict.ignored += 1
        elif not notification.changed:
            verdict.ignored += 1
        else:
            verdict.scheduled.add(channel.profile_id)
    for profile_id in sorted(verdict.scheduled):
        request_sync_now(engine, profile_id)
    return verdict


def _lifecycle(engine: Engine, channel: PushChannel, event: str) -> bool:
    """Act on a genuine lifecycle notification; True when the profile should sync now.

    ``reauthorize``: the next maintenance pass renews the channel whatever its expiry
    (for Graph a PATCH of ``expirationDateTime`` is how a subscription is reauthorized).
    ``removed``: the channel is gone at the provider; forgetting it makes the next pass
    create another, and a sync fetches what the gap may hide. ``missed``: just the sync.
    """
    if event == "missed":
        return True
    with session_scope(engine) as session:
        stored = session.get(PushChannel, channel.id)
        if stored is None:
            return event == "removed"
        if event == "removed":
            session.delete(stored)
            log.info("push channel %s was removed by the provider: replacing it", channel.id)
            return True
        stored.renew_requested = True
        session.add(stored)
    log.info("push channel %s needs reauthorization: renewing it next pass", channel.id)
    return False


def _channel_key(notification: PushNotification) -> tuple[str, str] | None:
    """What the channel is looked up by: ``(find_by, id)``; None when that id is missing."""
    if notification.find_by == "channel_id":
        value = notification.channel_id
    else:
        value = notification.provider_resource_id
    return (notification.find_by, value) if value is not None else None


def _channels_named(
    engine: Engine, provider: str, notifications: Sequence[PushNotification]
) -> dict[tuple[str, str], PushChannel]:
    """The channels of ``provider`` the notifications name, keyed like ``_channel_key``."""
    keys = {key for key in map(_channel_key, notifications) if key is not None}
    ids = sorted(value for kind, value in keys if kind == "channel_id")[:MAX_LOOKUPS]
    resources = sorted(value for kind, value in keys if kind != "channel_id")[:MAX_LOOKUPS]
    if not ids and not resources:
        return {}
    found: dict[tuple[str, str], PushChannel] = {}
    with session_scope(read_only(engine)) as session:
        for channel in session.exec(
            select(PushChannel).where(
                PushChannel.provider == provider,
                or_(
                    col(PushChannel.id).in_(ids),
                    col(PushChannel.provider_resource_id).in_(resources),
                ),
            )
        ):
            if channel.id in ids:
                found[("channel_id", channel.id)] = channel
            if channel.provider_resource_id in resources:
                found[("provider_resource_id", str(channel.provider_resource_id))] = channel
    return found


def _genuine(notification: PushNotification, channel: PushChannel) -> bool:
    """The secret matches, and neither id contradicts the channel."""
    if notification.secret is None or not secret_matches(notification.secret, channel.secret_hash):
        return False
    if notification.channel_id is not None and notification.channel_id != channel.id:
        return False
    known_resource = channel.provider_resource_id
    presented = notification.provider_resource_id
    return known_resource is None or presented is None or presented == known_resource


# ---------------------------------------------------------------------------
# Channel maintenance (runs in the daemon)
# ---------------------------------------------------------------------------


@dataclass
class PushReport:
    """What one maintenance pass did."""

    created: int = 0
    renewed: int = 0
    stopped: int = 0
    failed: int = 0
    skipped: bool = False


@dataclass
class _Wanted:
    profile: Profile
    calendar: Calendar


class PushMaintenance:
    """Keeps provider channels in line with the store; one pass at a time per database."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context

    def install(self, scheduler: BaseScheduler, seconds: float | None = None) -> None:
        scheduler.add_executor(ThreadPoolExecutor(1), alias="push")
        scheduler.add_job(
            self.run_safely,
            "interval",
            seconds=seconds or MAINTENANCE_SECONDS,
            id="push",
            executor="push",
            next_run_time=dt.datetime.now(dt.UTC),
        )

    def run_safely(self) -> PushReport:
        """The scheduled entry point: a failed pass is logged and retried next time."""
        if self.context.stop_event.is_set():
            return PushReport(skipped=True)
        try:
            return self.run_once()
        except Exception:
            log.exception("push channel maintenance failed")
            return PushReport(failed=1)

    def run_once(self, now: dt.datetime | None = None) -> PushReport:
        engine, settings = self.context.engine, self.context.settings
        with exclusively(engine, PUSH_MAINTENANCE) as mine:
            if not mine:
                return PushReport(skipped=True)
            return self._pass(engine, settings, now or utcnow())

    def _pass(self, engine: Engine, settings: Settings, now: dt.datetime) -> PushReport:
        report = PushReport()
        enabled = push_enabled(settings)
        with session_scope(read_only(engine)) as session:
            channels = list(session.exec(select(PushChannel)))
            if not enabled and not channels:
                return report  # push off and nothing to stop: no need to read calendars
            rows = session.exec(
                select(Calendar, Profile).join(Profile, col(Profile.id) == col(Calendar.profile_id))
            ).all()
        profiles = {profile.id: profile for _, profile in rows}
        calendars = {calendar.id: calendar for calendar, _ in rows}
        wanted = {
            calendar.id: _Wanted(profile, calendar)
            for calendar, profile in rows
            if enabled and profile.sync_status == ACTIVE and not calendar.deleted
            if _can_push(profile.provider)
        }
        providers = _Providers(self.context)
        covered: set[str] = set()
        try:
            # Newest first: a second live channel on a calendar (a crash mid-renewal) goes.
            for channel in sorted(channels, key=lambda c: c.expires_at, reverse=True):
                owner = profiles.get(channel.profile_id)
                calendar = calendars.get(channel.calendar_id)
                if channel.expires_at <= now:
                    _delete_channel(engine, channel.id)
                elif channel.calendar_id in covered:
                    report.stopped += self._stop(providers, owner, channel)
                elif channel.calendar_id in wanted:
                    covered.add(channel.calendar_id)
                    self._keep(providers, wanted[channel.calendar_id], channel, now, report)
                elif (
                    enabled
                    and owner is not None
                    and owner.sync_status == PENDING
                    and calendar is not None
                    and not calendar.deleted
                ):
                    # Reauthorized or not yet synced: keep it, the profile may be back soon.
                    covered.add(channel.calendar_id)
                else:  # push off, profile disconnected, calendar gone
                    report.stopped += self._stop(providers, owner, channel)
            self._create_missing(providers, wanted, covered, report)
        finally:
            providers.persist_credentials()
        if report.created or report.renewed or report.stopped or report.failed:
            log.info(
                "push channels: %d created, %d renewed, %d stopped, %d failed",
                report.created,
                report.renewed,
                report.stopped,
                report.failed,
            )
        return report

    def _keep(
        self,
        providers: _Providers,
        target: _Wanted,
        channel: PushChannel,
        now: dt.datetime,
        report: PushReport,
    ) -> None:
        """A wanted calendar's channel: moved when ``push_base_url`` changed (or the URL
        it was given is unknown), renewed when it expires soon or the provider asked."""
        settings = self.context.settings
        if channel.callback_url != callback_url(settings, target.profile.provider):
            log.info("push channel %s calls an old URL: replacing it", channel.id)
            replaced = self._replace(providers, target, channel)
            report.renewed += replaced
            report.failed += not replaced
        elif channel.renew_requested or (
            channel.expires_at - now <= dt.timedelta(seconds=settings.push_renew_margin)
        ):
            renewed = self._renew(providers, target, channel)
            report.renewed += renewed
            report.failed += not renewed

    def _create_missing(
        self,
        providers: _Providers,
        wanted: dict[str, _Wanted],
        covered: set[str],
        report: PushReport,
    ) -> None:
        """A channel on every wanted calendar that has none yet."""
        caught_up: set[str] = set()
        for calendar_id, target in wanted.items():
            if calendar_id not in covered:
                created = self._create(providers, target) is not None
                report.created += created
                report.failed += not created
                if created:
                    caught_up.add(target.profile.id)
        # Changes made between the last sync and the channel going live reached no
        # channel: one more sync picks them up.
        for profile_id in sorted(caught_up):
            request_sync_now(self.context.engine, profile_id)

    def _create(self, providers: _Providers, target: _Wanted) -> PushChannel | None:
        """A new channel on one calendar; the row exists before the provider is asked.

        Inserting first means a notification arriving before ``watch_calendar`` returns
        (Google's ``sync`` handshake) already finds its channel.
        """
        settings = self.context.settings
        url = callback_url(settings, target.profile.provider)
        provider = providers.get(target.profile)
        if url is None or provider is None:
            return None
        secret = secrets.token_urlsafe(32)
        ttl = dt.timedelta(seconds=settings.push_channel_ttl)
        channel = PushChannel(
            id=new_id("pch"),
            profile_id=target.profile.id,
            calendar_id=target.calendar.id,
            provider=target.profile.provider,
            secret_hash=hash_secret(secret),
            expires_at=utcnow() + ttl,
            callback_url=url,
        )
        with session_scope(self.context.engine) as session:
            if session.get(Calendar, target.calendar.id) is None:
                return None
            session.add(channel)
        try:
            watch = provider.watch_calendar(
                remote_calendar(target.calendar), channel.id, secret, url, ttl
            )
        except ProviderError as error:
            log.warning(
                "could not watch calendar %s of profile %s: %s",
                target.calendar.id,
                target.profile.id,
                error,
            )
            _delete_channel(self.context.engine, channel.id)
            return None
        with session_scope(self.context.engine) as session:
            stored = session.get(PushChannel, channel.id)
            if stored is None:  # the profile was removed meanwhile
                _stop_quietly(provider, channel.id, watch.provider_resource_id)
                return None
            stored.provider_resource_id = watch.provider_resource_id
            stored.expires_at = watch.expires_at
            session.add(stored)
        channel.provider_resource_id = watch.provider_resource_id
        channel.expires_at = watch.expires_at
        return channel

    def _renew(self, providers: _Providers, target: _Wanted, channel: PushChannel) -> bool:
        """Extend in place where the provider can (Graph); else replace, then stop the old.

        A failed in-place renewal is retried by the next pass (the margin leaves room for
        many); one the provider no longer knows is replaced at once.
        """
        provider = providers.get(target.profile)
        if provider is None or channel.provider_resource_id is None:
            return False
        if _renews_in_place(provider):
            ttl = dt.timedelta(seconds=self.context.settings.push_channel_ttl)
            try:
                expires_at = provider.renew_watch(channel.provider_resource_id, ttl)
            except NotFound:
                log.info("push channel %s is gone at the provider: replacing it", channel.id)
            except ProviderError as error:
                log.warning("could not renew push channel %s: %s", channel.id, error)
                return False
            else:
                with session_scope(self.context.engine) as session:
                    stored = session.get(PushChannel, channel.id)
                    if stored is not None:
                        stored.expires_at = expires_at
                        stored.renew_requested = False
                        session.add(stored)
                return True
        return self._replace(providers, target, channel)

    def _replace(self, providers: _Providers, target: _Wanted, channel: PushChannel) -> bool:
        """A new channel first, then the old one is stopped (no gap without a channel)."""
        provider = providers.get(target.profile)
        if provider is None or self._create(providers, target) is None:
            return False
        if channel.provider_resource_id is not None:
            _stop_quietly(provider, channel.id, channel.provider_resource_id)
        _delete_channel(self.context.engine, channel.id)
        return True

    def _stop(self, providers: _Providers, owner: Profile | None, channel: PushChannel) -> int:
        provider = providers.get(owner) if owner is not None else None
        if provider is not None and channel.provider_resource_id is not None:
            _stop_quietly(provider, channel.id, channel.provider_resource_id)
        _delete_channel(self.context.engine, channel.id)
        return 1


def stop_profile_channels(context: SyncContext, profile_id: str) -> int:
    """Stop every channel of a profile at its provider and forget them (profile removal).

    Best effort at the provider (it may already refuse the credentials); the rows go
    regardless, and a channel left behind expires on its own and meets a 404 until then.
    """
    with session_scope(read_only(context.engine)) as session:
        profile = session.get(Profile, profile_id)
        channels = list(
            session.exec(select(PushChannel).where(PushChannel.profile_id == profile_id))
        )
    if not channels:
        return 0
    providers = _Providers(context)
    provider = providers.get(profile) if profile is not None else None
    for channel in channels:
        if provider is not None and channel.provider_resource_id is not None:
            _stop_quietly(provider, channel.id, channel.provider_resource_id)
        _delete_channel(context.engine, channel.id)
    providers.persist_credentials()
    return len(channels)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


class _Providers:
    """One adapter per profile per pass; refreshed credentials are saved at the end."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        self._built: dict[str, CalendarProvider | None] = {}

    def get(self, profile: Profile) -> CalendarProvider | None:
        if profile.id not in self._built:
            try:
                credentials = profile_credentials(self.context.box, profile)
                self._built[profile.id] = self.context.provider_factory(
                    self.context.settings, profile.provider, credentials
                )
            except Exception as error:  # undecryptable credentials, unknown provider
                log.warning("no adapter for profile %s: %s", profile.id, error)
                self._built[profile.id] = None
        return self._built[profile.id]

    def persist_credentials(self) -> None:
        for profile_id, provider in self._built.items():
            refreshed = provider.refreshed_credentials() if provider is not None else None
            if refreshed is None:
                continue
            with session_scope(self.context.engine) as session:
                profile = session.get(Profile, profile_id)
                if profile is not None:
                    store_credentials(session, self.context.box, profile, refreshed)


def _can_push(provider: str) -> bool:
    try:
        return provider_class(provider).supports_push
    except UnknownProvider:
        return False


def _renews_in_place(provider: CalendarProvider) -> bool:
    """Whether the adapter implements ``renew_watch`` (the base class only refuses)."""
    return type(provider).renew_watch is not CalendarProvider.renew_watch


def _stop_quietly(provider: CalendarProvider, channel_id: str, resource_id: str) -> None:
    try:
        provider.stop_watch(channel_id, resource_id)
    except ProviderError as error:
        log.info("could not stop push channel %s (it will expire): %s", channel_id, error)


def _delete_channel(engine: Engine, channel_id: str) -> None:
    with session_scope(engine) as session:
        session.execute(delete(PushChannel).where(col(PushChannel.id) == channel_id))
