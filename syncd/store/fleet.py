"""Read-only queries about the whole fleet, for ``syncd status`` and the admin listings.

Each function reads one thing and says so in its name; composing them (and redacting
what they return) is the caller's business.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlmodel import Session, col

from syncd.store.managed import list_conferencing_profiles
from syncd.store.models import Account, ConferencingProfile, Profile, SyncRun


@dataclass(frozen=True)
class WorkerActivity:
    """One daemon (``SyncRun.worker``) and the sync runs it started in a period."""

    worker: str
    runs: int
    last_run_at: dt.datetime


@dataclass(frozen=True)
class ProfileError:
    """A profile whose last sync recorded an error (the error is not redacted here)."""

    profile_id: str
    provider: str
    sync_status: str
    failure_count: int
    last_attempt_at: dt.datetime | None
    last_error: str | None


def stored_status_counts_by_provider(connection: Connection) -> dict[str, dict[str, int]]:
    """``{provider: {stored sync_status: profiles}}``."""
    counts: dict[str, dict[str, int]] = {}
    for provider, stored, count in connection.execute(
        select(col(Profile.provider), col(Profile.sync_status), func.count()).group_by(
            col(Profile.provider), col(Profile.sync_status)
        )
    ):
        counts.setdefault(provider, {})[stored] = int(count)
    return counts


def oldest_due_at(connection: Connection, now: dt.datetime) -> dt.datetime | None:
    """The earliest ``next_due_at`` that has passed, among profiles not disconnected."""
    oldest: dt.datetime | None = connection.execute(
        select(func.min(col(Profile.next_due_at))).where(
            col(Profile.sync_status) != "disconnected", col(Profile.next_due_at) <= now
        )
    ).scalar_one_or_none()
    return oldest


def sync_outcome_counts_since(connection: Connection, since: dt.datetime) -> dict[str, int]:
    """``{outcome: sync runs}`` for the runs started at or after ``since``."""
    return {
        outcome: int(count)
        for outcome, count in connection.execute(
            select(col(SyncRun.outcome), func.count())
            .where(col(SyncRun.started_at) >= since)
            .group_by(col(SyncRun.outcome))
        )
    }


def workers_active_since(connection: Connection, since: dt.datetime) -> list[WorkerActivity]:
    """The daemons that started sync runs at or after ``since``, most recent first."""
    last_run = func.max(col(SyncRun.started_at))
    return [
        WorkerActivity(worker=worker, runs=int(runs), last_run_at=last)
        for worker, runs, last in connection.execute(
            select(col(SyncRun.worker), func.count(), last_run)
            .where(col(SyncRun.started_at) >= since)
            .group_by(col(SyncRun.worker))
            .order_by(last_run.desc())
        )
    ]


@dataclass(frozen=True)
class LeaseHolder:
    """A daemon holding profile leases its heartbeat keeps renewing: alive right now."""

    worker: str
    profiles: int
    lease_expires_at: dt.datetime


def lease_holders_at(connection: Connection, now: dt.datetime) -> list[LeaseHolder]:
    """The daemons whose profile leases have not expired at ``now`` (a dead daemon's
    expire within ``lease_seconds``), the longest-lived lease first."""
    latest = func.max(col(Profile.lease_expires_at))
    return [
        LeaseHolder(worker=str(worker), profiles=int(count), lease_expires_at=expires)
        for worker, count, expires in connection.execute(
            select(col(Profile.lease_owner), func.count(), latest)
            .where(col(Profile.lease_owner).is_not(None), col(Profile.lease_expires_at) > now)
            .group_by(col(Profile.lease_owner))
            .order_by(latest.desc())
        )
        if expires is not None
    ]


def latest_profile_errors(connection: Connection, limit: int) -> list[ProfileError]:
    """The ``limit`` profiles with a recorded error, most recently attempted first."""
    rows = connection.execute(
        select(
            col(Profile.id),
            col(Profile.provider),
            col(Profile.sync_status),
            col(Profile.failure_count),
            col(Profile.last_attempt_at),
            col(Profile.last_error),
        )
        .where(col(Profile.last_error).is_not(None))
        .order_by(col(Profile.last_attempt_at).desc())
        .limit(limit)
    ).all()
    return [ProfileError(*row) for row in rows]


def conferencing_profiles_with_default_flag(
    session: Session, account_id: str | None
) -> list[tuple[ConferencingProfile, bool]]:
    """Conferencing profiles (of one account, or all), each with whether it is its
    account's default (``conferencing: {"profile_id": "default"}``)."""
    listed = []
    for profile in list_conferencing_profiles(session, account_id):
        account = session.get(Account, profile.account_id)
        is_default = bool(account and account.default_conferencing_profile_id == profile.id)
        listed.append((profile, is_default))
    return listed
