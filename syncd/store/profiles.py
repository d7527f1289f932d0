"""Profiles (connected calendar services) and their calendars: CRUD and credentials."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from providers.base import RemoteCalendar, ServiceIdentity
from syncd.errors import NotFoundError
from syncd.ids import new_id
from syncd.statuses import SyncStatus
from syncd.store.crypto import SecretBox
from syncd.store.models import (
    Account,
    Calendar,
    Event,
    EventTombstone,
    Occurrence,
    Profile,
    PushChannel,
    utcnow,
)
from syncd.store.tombstones import bury


def create_profile(
    session: Session,
    box: SecretBox,
    account: Account,
    provider: str,
    name: str,
    credentials: dict[str, Any],
    identity: ServiceIdentity | None = None,
) -> Profile:
    """A new profile, due for its first (full) sync right away; ``identity`` is what the
    adapter says the service is (else the first sync says)."""
    profile = Profile(
        id=new_id("pro"),
        account_id=account.id,
        provider=provider,
        provider_name=identity.provider_name if identity else None,
        provider_service=identity.provider_service if identity else None,
        name=name,
        credentials_encrypted=box.encrypt(credentials),
        sync_status=SyncStatus.PENDING,
        status_reason="waiting for the first full sync",
        next_due_at=utcnow(),
    )
    session.add(profile)
    session.flush()
    return profile


def find_profile(session: Session, profile_id: str, application_id: str | None = None) -> Profile:
    profile = session.get(Profile, profile_id)
    if profile is not None and application_id is not None:
        account = session.get(Account, profile.account_id)
        if account is None or account.application_id != application_id:
            profile = None
    if profile is None:
        raise NotFoundError(f"no profile {profile_id!r}")
    return profile


def list_profiles(
    session: Session, account_id: str | None = None, application_id: str | None = None
) -> list[Profile]:
    query = select(Profile).order_by(col(Profile.created_at))
    if account_id is not None:
        query = query.where(Profile.account_id == account_id)
    if application_id is not None:
        query = query.join(Account, col(Account.id) == col(Profile.account_id)).where(
            Account.application_id == application_id
        )
    return list(session.exec(query))


def profile_credentials(box: SecretBox, profile: Profile) -> dict[str, Any]:
    return box.decrypt(profile.credentials_encrypted)


def record_identity(profile: Profile, identity: ServiceIdentity) -> None:
    """The adapter's word on what the service is (a token may have told it more)."""
    if (profile.provider_name, profile.provider_service) != (
        identity.provider_name,
        identity.provider_service,
    ):
        profile.provider_name = identity.provider_name
        profile.provider_service = identity.provider_service


def store_credentials(
    session: Session, box: SecretBox, profile: Profile, credentials: dict[str, Any]
) -> None:
    profile.credentials_encrypted = box.encrypt(credentials)
    session.add(profile)


def reauthorize_profile(
    session: Session, box: SecretBox, profile: Profile, credentials: dict[str, Any]
) -> None:
    """New credentials for a (usually disconnected) profile: pending until the next success."""
    store_credentials(session, box, profile, credentials)
    profile.sync_status = SyncStatus.PENDING
    profile.status_reason = "reauthorized; waiting for the next successful sync"
    profile.failure_count = 0
    profile.last_error = None
    profile.next_due_at = utcnow()
    profile.lease_owner = None
    profile.lease_expires_at = None
    session.add(profile)


def remove_profile(session: Session, profile: Profile) -> list[str]:
    """Delete a profile with its calendars, events, occurrences and push channel rows;
    returns the calendars removed.

    Stop the channels at the provider first (``syncd.sync.push.stop_profile_channels``).
    """
    calendar_ids = select(Calendar.id).where(Calendar.profile_id == profile.id)
    removed = list(session.exec(calendar_ids))
    session.exec(delete(PushChannel).where(col(PushChannel.profile_id) == profile.id))
    session.exec(delete(Occurrence).where(col(Occurrence.calendar_id).in_(calendar_ids)))
    session.exec(delete(Event).where(col(Event.calendar_id).in_(calendar_ids)))
    session.exec(delete(EventTombstone).where(col(EventTombstone.calendar_id).in_(calendar_ids)))
    session.exec(delete(Calendar).where(col(Calendar.profile_id) == profile.id))
    session.delete(profile)
    return removed


#: Why a revoked profile is disconnected (the reason sync_status shows).
REVOKED_REASON = "access was revoked; reconnect the calendar service to sync it again"


def revoke_profile_access(session: Session, box: SecretBox, profile: Profile) -> list[str]:
    """Disconnect a profile on request (Cronofy's revoke profile): its credentials are
    forgotten and its synced events removed (each leaving a tombstone, as every other
    removal does); the profile and its calendars stay, so a
    relink reconnects them with a full sync. Returns the calendars whose events went.

    Stop its push channels at the provider first (``syncd.sync.push.stop_profile_channels``).
    """
    calendars = list(session.exec(select(Calendar).where(Calendar.profile_id == profile.id)))
    ids = [calendar.id for calendar in calendars]
    session.exec(delete(PushChannel).where(col(PushChannel.profile_id) == profile.id))
    session.exec(delete(Occurrence).where(col(Occurrence.calendar_id).in_(ids)))
    bury(session, col(Event.calendar_id).in_(ids))  # last_modified readers see them go
    session.exec(delete(Event).where(col(Event.calendar_id).in_(ids)))
    for calendar in calendars:
        calendar.sync_cursor = None
        calendar.full_sync_in_progress = False
        calendar.empty_resync_pending = False
        session.add(calendar)
    profile.credentials_encrypted = box.encrypt({})
    profile.sync_status = SyncStatus.DISCONNECTED
    profile.status_reason = REVOKED_REASON
    profile.initial_sync_done = False
    profile.next_due_at = None
    profile.lease_owner = None
    profile.lease_expires_at = None
    session.add(profile)
    return ids


def list_calendars(
    session: Session,
    profile_ids: list[str] | None = None,
    include_deleted: bool = False,
) -> list[Calendar]:
    query = select(Calendar).order_by(col(Calendar.profile_id), col(Calendar.name))
    if profile_ids is not None:
        query = query.where(col(Calendar.profile_id).in_(profile_ids))
    if not include_deleted:
        query = query.where(col(Calendar.deleted).is_(False))
    return list(session.exec(query))


def remote_calendar(calendar: Calendar) -> RemoteCalendar:
    """A stored calendar as the adapters know it."""
    return RemoteCalendar(
        provider_calendar_id=calendar.provider_calendar_id,
        name=calendar.name,
        readonly=calendar.readonly,
        primary=calendar.primary,
        integrated_conferencing_available=calendar.integrated_conferencing_available,
        timezone=calendar.timezone,
    )
