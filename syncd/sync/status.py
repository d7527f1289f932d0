"""sync_status rules, in one place (design.md, "sync_status").

- ``pending``: connected or reauthorized and the first full sync has not completed, or
  the last success is older than the staleness bound;
- ``active``: synced successfully within the staleness bound;
- ``disconnected``: the provider refused the credentials; only reauthorization clears it.

Transient failures never change the stored status: they only delay the next attempt,
and staleness (computed on read) makes an active profile ``pending`` if they last.

The values are :class:`syncd.statuses.SyncStatus`; a member's status (the worst of its
profiles') is :func:`syncd.availability.member_sync_status`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from syncd.config import Settings
from syncd.statuses import SyncStatus
from syncd.store.models import Calendar, Profile

PENDING = SyncStatus.PENDING
ACTIVE = SyncStatus.ACTIVE
DISCONNECTED = SyncStatus.DISCONNECTED

#: First retry delay after a failed sync; doubles per consecutive failure up to max_backoff.
BASE_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class EffectiveStatus:
    sync_status: SyncStatus
    reason: str


def effective_status(profile: Profile, now: dt.datetime, staleness_bound: float) -> EffectiveStatus:
    """The status callers see: the stored one, downgraded to pending when data is stale."""
    if profile.sync_status == ACTIVE and profile.last_success_at is not None:
        age = (now - profile.last_success_at).total_seconds()
        if age > staleness_bound:
            return EffectiveStatus(
                PENDING,
                f"data is stale: last successful sync {int(age)} s ago "
                f"(bound {int(staleness_bound)} s)"
                + (f"; last error: {profile.last_error}" if profile.last_error else ""),
            )
    return EffectiveStatus(profile.sync_status, profile.status_reason)


def jittered(seconds: float, jitter: float, rng: random.Random | None = None) -> float:
    spread = seconds * jitter
    return max(0.0, seconds + (rng or random).uniform(-spread, spread))


def mark_synced(
    profile: Profile, started_at: dt.datetime, poll_interval: float, jitter: float
) -> None:
    """A complete, successful sync (``started_at`` taken before polling, so nothing is missed)."""
    profile.sync_status = ACTIVE
    profile.status_reason = "synced"
    profile.initial_sync_done = True
    profile.last_success_at = started_at
    profile.last_error = None
    profile.failure_count = 0
    profile.next_due_at = started_at + dt.timedelta(seconds=jittered(poll_interval, jitter))


def mark_partially_synced(profile: Profile, failing: list[Calendar]) -> None:
    """After :func:`mark_synced`, when some calendars failed: say which, and date the data.

    The profile stays ``active`` (never ``disconnected``: the credentials work), but its
    reason names every failing calendar with its error and since when, and
    ``last_success_at`` becomes the oldest failing calendar's last success, so the
    staleness rule turns the profile ``pending`` once that calendar's copy is too old.
    A failing calendar that never synced leaves the profile ``pending`` right away.
    """
    if not failing:
        return
    details = "; ".join(
        f"{calendar.name or calendar.id}: {calendar.last_error or 'failing'}"
        + (
            f" (since {calendar.last_error_at:%Y-%m-%dT%H:%M:%SZ})"
            if calendar.last_error_at
            else ""
        )
        for calendar in failing
    )
    summary = f"{len(failing)} calendar(s) failing: {details}"
    profile.last_error = summary
    never_synced = [calendar for calendar in failing if calendar.last_synced_at is None]
    if never_synced:
        profile.sync_status = PENDING
        profile.status_reason = f"first sync not complete for every calendar; {summary}"
        return
    profile.status_reason = f"synced, except {summary}"
    oldest = min(calendar.last_synced_at for calendar in failing if calendar.last_synced_at)
    if profile.last_success_at is None or oldest < profile.last_success_at:
        profile.last_success_at = oldest


def calendar_retry_at(
    now: dt.datetime, failure_count: int, max_backoff: float, jitter: float
) -> dt.datetime:
    """When a failing calendar is tried again: the profile's backoff rule, per calendar."""
    delay = min(max_backoff, BASE_BACKOFF_SECONDS * 2 ** (max(failure_count, 1) - 1))
    return now + dt.timedelta(seconds=jittered(delay, jitter))


def mark_auth_revoked(profile: Profile, detail: str) -> bool:
    """Returns True when this is a transition into ``disconnected``."""
    transition = profile.sync_status != DISCONNECTED
    profile.sync_status = DISCONNECTED
    profile.status_reason = (
        f"the provider refused the credentials: {detail}; reauthorize the profile"
    )
    profile.last_error = detail
    profile.next_due_at = None
    return transition


def mark_unsupported(profile: Profile, detail: str) -> bool:
    """The server does not implement the protocol (e.g. 501 to CalDAV methods): retrying
    cannot help until the profile's URL changes, so it is ``disconnected`` with that
    reason. Returns True when this is a transition into ``disconnected``."""
    transition = profile.sync_status != DISCONNECTED
    profile.failure_count += 1
    profile.sync_status = DISCONNECTED
    profile.status_reason = f"{detail}; reauthorize the profile with the right URL"
    profile.last_error = detail
    profile.next_due_at = None
    return transition


#: What a profile says when none of the configured keys decrypts its credentials.
UNDECRYPTABLE = "credentials cannot be decrypted with the configured keys"


def mark_undecryptable(profile: Profile) -> None:
    """The configured keys do not decrypt the credentials: pending (nothing is synced) with
    that reason until a key that does is configured; retried with backoff like a failure."""
    profile.sync_status = PENDING
    profile.status_reason = (
        f"{UNDECRYPTABLE}: add the key they were encrypted with to secret_keys "
        "(then `systemctl reload syncd` or restart the daemon)"
    )


def mark_failed(
    profile: Profile,
    now: dt.datetime,
    detail: str,
    max_backoff: float,
    jitter: float,
    retry_after: float | None = None,
) -> None:
    """A transient failure: keep the status, back off exponentially (or as the provider asked).

    Credentials no configured key decrypts make the profile pending with that reason.
    """
    profile.failure_count += 1
    profile.last_error = detail
    if profile.sync_status == PENDING and not profile.initial_sync_done:
        profile.status_reason = f"first sync not complete yet; last attempt failed: {detail}"
    if detail == UNDECRYPTABLE:
        mark_undecryptable(profile)
    delay = min(max_backoff, BASE_BACKOFF_SECONDS * 2 ** (profile.failure_count - 1))
    if retry_after is not None:
        delay = max(delay, retry_after)
    profile.next_due_at = now + dt.timedelta(seconds=jittered(delay, jitter))


# ---------------------------------------------------------------------------
# Polling while push is on (used by syncd.sync.run and syncd.sync.push)
# ---------------------------------------------------------------------------

#: With push on, the next poll after a success is due at the latest after this fraction
#: of ``staleness_bound``, so the forced poll lands before the data counts as stale.
FORCED_POLL_FRACTION = 0.9


def push_base_url(settings: Settings) -> str | None:
    """The base URL providers call back, or None when push is off."""
    base = (
        settings.push_base_url if settings.push_base_url is not None else settings.public_base_url
    )
    return base.rstrip("/") if base else None


def push_enabled(settings: Settings) -> bool:
    return push_base_url(settings) is not None


def cap_next_due(profile: Profile, started_at: dt.datetime, settings: Settings) -> None:
    """With push on, the next poll is no later than the forced poll before staleness.

    ``poll_interval`` may be set long when push is on; the staleness bound still holds.
    """
    if not push_enabled(settings) or profile.next_due_at is None:
        return
    forced = started_at + dt.timedelta(seconds=settings.staleness_bound * FORCED_POLL_FRACTION)
    profile.next_due_at = min(profile.next_due_at, forced)
