"""Managed events (written through our API) and conferencing profiles: the store side.

The API only records intent here (a ``ManagedEvent`` due now); the daemon leases due
rows and does the provider work, so a 202 is quick and a crash loses nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlmodel import Session, col

from syncd.errors import NotFoundError
from syncd.ids import new_id
from syncd.statuses import ConferencingProfileStatus, ConferencingState, ManagedEventState
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.leasing import claim_due, lease_table
from syncd.store.models import (
    Account,
    Calendar,
    ConferencingProfile,
    Event,
    ManagedEvent,
    Occurrence,
    Profile,
    utcnow,
)
from syncd.store.tombstones import bury, forget_managed
from syncd.store.wakeups import MANAGED, signal_on_commit

PENDING_WRITE = ManagedEventState.PENDING_WRITE
WRITTEN = ManagedEventState.WRITTEN
PENDING_DELETE = ManagedEventState.PENDING_DELETE
DELETED = ManagedEventState.DELETED
FAILED = ManagedEventState.FAILED

#: Prefix of the ``event_id`` of rows that delete an event we do not manage (``event_uid``).
EXTERNAL_DELETE_PREFIX = "external-delete:"


# --------------------------------------------------------------------------- calendars


def calendar_of_account(session: Session, account_id: str, calendar_id: str) -> Calendar | None:
    """The account's non-deleted calendar, or None (unknown and foreign look the same)."""
    row = session.execute(
        select(Calendar)
        .join(Profile, col(Profile.id) == col(Calendar.profile_id))
        .where(
            col(Calendar.id) == calendar_id,
            col(Profile.account_id) == account_id,
            col(Calendar.deleted).is_(False),
        )
    ).scalar_one_or_none()
    return row


# --------------------------------------------------------------------------- managed events


def find_managed_event(session: Session, calendar_id: str, event_id: str) -> ManagedEvent | None:
    return session.execute(
        select(ManagedEvent).where(
            col(ManagedEvent.calendar_id) == calendar_id, col(ManagedEvent.event_id) == event_id
        )
    ).scalar_one_or_none()


def upsert_managed_event(
    session: Session,
    application_id: str,
    account_id: str,
    calendar_id: str,
    event_id: str,
    request: dict[str, Any],
    now: dt.datetime | None = None,
) -> tuple[ManagedEvent, bool]:
    """Record the wanted state of one managed event; ``(row, changed)``.

    The same request again changes nothing (no new write, no new meeting). A request
    for an event deleted earlier starts it afresh under a new row, so its provider ids
    (derived from the row) cannot clash with the deleted event's.
    """
    now = now or utcnow()
    row = find_managed_event(session, calendar_id, event_id)
    if row is not None and row.state in (PENDING_WRITE, WRITTEN) and row.request == request:
        return row, False
    if row is not None and row.state in (DELETED, FAILED):
        session.delete(row)
        session.flush()
        row = None
    if row is None:
        forget_managed(session, calendar_id, event_id)  # written again: not deleted any more
        row = ManagedEvent(
            application_id=application_id,
            account_id=account_id,
            calendar_id=calendar_id,
            event_id=event_id,
            created_at=now,
        )
    row.request = request
    row.state = PENDING_WRITE
    if row.conferencing_state == ConferencingState.FAILING:
        row.conferencing_state = ConferencingState.NONE  # a changed request: a fresh attempt
    row.attempts = 0
    row.last_error = None
    row.next_attempt_at = now
    row.updated_at = now
    session.add(row)
    session.flush()
    signal_on_commit(session, MANAGED)  # the daemon's writer starts on commit, not a poll
    return row, True


def request_delete(
    session: Session, calendar_id: str, event_id: str, now: dt.datetime | None = None
) -> ManagedEvent | None:
    """Mark a managed event for deletion by the daemon; None when there is no such event."""
    now = now or utcnow()
    row = find_managed_event(session, calendar_id, event_id)
    if row is None or row.state in (DELETED, PENDING_DELETE):
        return row
    row.state = PENDING_DELETE
    row.attempts = 0
    row.last_error = None
    row.next_attempt_at = now
    row.updated_at = now
    session.add(row)
    signal_on_commit(session, MANAGED)
    return row


def request_external_delete(
    session: Session, application_id: str, account_id: str, event: Event
) -> ManagedEvent:
    """Delete an event we do not manage (``event_uid``) through the same retried job."""
    event_id = EXTERNAL_DELETE_PREFIX + event.provider_event_id
    row = find_managed_event(session, event.calendar_id, event_id) or ManagedEvent(
        application_id=application_id,
        account_id=account_id,
        calendar_id=event.calendar_id,
        event_id=event_id,
    )
    now = utcnow()
    row.request = {}
    row.state = PENDING_DELETE
    row.provider_event_id = event.provider_event_id
    row.next_attempt_at = now
    row.updated_at = now
    session.add(row)
    session.flush()
    signal_on_commit(session, MANAGED)
    return row


def claim_due_managed_events(
    engine: Engine, worker_id: str, limit: int, lease_seconds: float, now: dt.datetime | None = None
) -> list[int]:
    """Lease up to ``limit`` due managed events (``syncd.store.leasing``); their ids."""
    if limit <= 0:
        return []
    with session_scope(engine) as session:
        return claim_due_managed_events_in(session, worker_id, limit, lease_seconds, now)


def claim_due_managed_events_in(
    session: Session,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    now: dt.datetime | None = None,
) -> list[int]:
    """``claim_due_managed_events`` in the caller's transaction (which then reads them)."""
    if limit <= 0:
        return []
    now = now or utcnow()
    claimed = claim_due(
        session,
        lease_table(ManagedEvent),
        due=[
            col(ManagedEvent.next_attempt_at).is_not(None),
            col(ManagedEvent.next_attempt_at) <= now,
        ],
        order_by=["next_attempt_at"],
        worker_id=worker_id,
        limit=limit,
        now=now,
        lease_seconds=lease_seconds,
    )
    return [int(row.id) for row in claimed]


def managed_events_by_id(session: Session, ids: list[int]) -> list[ManagedEvent]:
    """The rows with these ids, in the order of ``ids``."""
    rows = session.execute(select(ManagedEvent).where(col(ManagedEvent.id).in_(ids))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id[row_id] for row_id in ids if row_id in by_id]


def release_managed_leases(engine: Engine, worker_id: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(ManagedEvent)
            .where(col(ManagedEvent.lease_owner) == worker_id)
            .values(lease_owner=None, lease_expires_at=None)
        )


def delete_managed_event_rows(session: Session, calendar_id: str, event_id: str) -> int:
    """Drop the stored provider item of a managed event (and its occurrences), leaving a
    tombstone; returns how many items there were."""
    ids = select(col(Event.id)).where(
        col(Event.calendar_id) == calendar_id, col(Event.managed_event_id) == event_id
    )
    buried = bury(
        session, (col(Event.calendar_id) == calendar_id) & (col(Event.managed_event_id) == event_id)
    )
    session.execute(delete(Occurrence).where(col(Occurrence.event_id).in_(ids)))
    session.execute(
        delete(Event).where(
            col(Event.calendar_id) == calendar_id, col(Event.managed_event_id) == event_id
        )
    )
    return buried


def delete_provider_item(session: Session, calendar_id: str, provider_event_id: str) -> None:
    """Drop a stored provider item deleted through the API (``event_uid``), leaving a
    tombstone."""
    ids = select(col(Event.id)).where(
        col(Event.calendar_id) == calendar_id, col(Event.provider_event_id) == provider_event_id
    )
    bury(
        session,
        (col(Event.calendar_id) == calendar_id)
        & (col(Event.provider_event_id) == provider_event_id),
    )
    session.execute(delete(Occurrence).where(col(Occurrence.event_id).in_(ids)))
    session.execute(
        delete(Event).where(
            col(Event.calendar_id) == calendar_id, col(Event.provider_event_id) == provider_event_id
        )
    )


# --------------------------------------------------------------------------- conferencing


def create_conferencing_profile(
    session: Session,
    box: SecretBox,
    account: Account,
    provider: str,
    name: str,
    credentials: dict[str, Any],
) -> ConferencingProfile:
    profile = ConferencingProfile(
        id=new_id("pro"),
        account_id=account.id,
        provider=provider,
        name=name,
        credentials_encrypted=box.encrypt(credentials),
    )
    session.add(profile)
    session.flush()
    return profile


def find_conferencing_profile(
    session: Session, profile_id: str, account_id: str | None = None
) -> ConferencingProfile:
    profile = session.get(ConferencingProfile, profile_id)
    if profile is None or (account_id is not None and profile.account_id != account_id):
        raise NotFoundError(f"no conferencing profile {profile_id!r}")
    return profile


def list_conferencing_profiles(
    session: Session, account_id: str | None = None
) -> list[ConferencingProfile]:
    query = select(ConferencingProfile).order_by(col(ConferencingProfile.created_at))
    if account_id is not None:
        query = query.where(col(ConferencingProfile.account_id) == account_id)
    return list(session.execute(query).scalars())


def conferencing_credentials(box: SecretBox, profile: ConferencingProfile) -> dict[str, Any]:
    return box.decrypt(profile.credentials_encrypted)


def store_conferencing_credentials(
    session: Session, box: SecretBox, profile_id: str, credentials: dict[str, Any]
) -> None:
    """Persist rotated tokens at once: the old refresh token may already be dead."""
    profile = session.get(ConferencingProfile, profile_id)
    if profile is not None:
        profile.credentials_encrypted = box.encrypt(credentials)
        session.add(profile)


def mark_conferencing_disconnected(session: Session, profile_id: str, reason: str) -> None:
    """The grant was revoked: this conferencing profile only, calendar sync is untouched."""
    profile = session.get(ConferencingProfile, profile_id)
    if profile is not None:
        profile.status = ConferencingProfileStatus.DISCONNECTED
        profile.status_reason = reason
        session.add(profile)


def set_default_conferencing(session: Session, account: Account, profile_id: str | None) -> None:
    if profile_id is not None:
        find_conferencing_profile(session, profile_id, account.id)
    account.default_conferencing_profile_id = profile_id
    session.add(account)


def remove_conferencing_profile(session: Session, profile: ConferencingProfile) -> None:
    account = session.get(Account, profile.account_id)
    if account is not None and account.default_conferencing_profile_id == profile.id:
        account.default_conferencing_profile_id = None
        session.add(account)
    session.delete(profile)
