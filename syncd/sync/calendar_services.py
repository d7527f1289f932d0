"""A person's connected calendar services as their Calendar Services page shows them:
each profile's provider, effective ``sync_status`` (the rule the API and the CLI use),
why, and when it last synced, in plain words; and removing one of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from syncd.config import Settings
from syncd.errors import NotFoundError
from syncd.statuses import SyncStatus
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Profile
from syncd.store.profiles import find_profile, list_profiles
from syncd.sync.push import stop_profile_channels
from syncd.sync.revoke import remove_telling_channels
from syncd.sync.run import SyncContext
from syncd.sync.status import effective_status

#: The service as people know it, from Cronofy's provider names and our providers.
PROVIDER_LABELS = {
    "google": "Google",
    "gsuite": "Google Workspace",
    "microsoft": "Microsoft 365 / Outlook.com",
    "office365": "Microsoft 365",
    "live_connect": "Outlook.com",
    "apple": "iCloud",
    "fastmail": "Fastmail",
    "nextcloud": "Nextcloud",
    "caldav": "CalDAV",
}
STATUS_WORDS = {
    SyncStatus.ACTIVE: "Up to date",
    SyncStatus.PENDING: "Catching up",
    SyncStatus.DISCONNECTED: "Disconnected",
}


@dataclass(frozen=True)
class ServiceLine:
    """One connected calendar service, ready to show."""

    profile: Profile
    provider_label: str
    sync_status: SyncStatus
    status_words: str
    #: Why, in a sentence (empty when there is nothing to say beyond the status).
    explanation: str
    #: "5 minutes ago", "never".
    last_synced: str

    @property
    def disconnected(self) -> bool:
        return self.sync_status == SyncStatus.DISCONNECTED


def provider_label(profile: Profile) -> str:
    for name in (profile.provider_service, profile.provider_name, profile.provider):
        if name and name in PROVIDER_LABELS:
            return PROVIDER_LABELS[name]
    return profile.provider


def ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, roughly, as a person says it."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def explanation(status: SyncStatus, reason: str, profile: Profile) -> str:
    """The stored reason turned into advice."""
    if status == SyncStatus.DISCONNECTED:
        return (
            f"syncd can no longer read this calendar service ({reason}). "
            "Reconnect it to start syncing again."
        )
    if status == SyncStatus.PENDING:
        if not profile.initial_sync_done:
            return "Your calendars are being copied for the first time; this takes a few minutes."
        if reason.startswith("reauthorized"):
            return "Reconnected: waiting for the next successful sync."
        return f"The last sync was a while ago, so the copy may be out of date ({reason})."
    return ""


def calendar_services(
    session: Session, account_id: str, now: dt.datetime, staleness_bound: float
) -> list[ServiceLine]:
    """Every profile of the account, oldest first."""
    lines = []
    for profile in list_profiles(session, account_id=account_id):
        current = effective_status(profile, now, staleness_bound)
        lines.append(
            ServiceLine(
                profile=profile,
                provider_label=provider_label(profile),
                sync_status=current.sync_status,
                status_words=STATUS_WORDS.get(current.sync_status, str(current.sync_status)),
                explanation=explanation(current.sync_status, current.reason, profile),
                last_synced=ago(profile.last_success_at, now),
            )
        )
    return lines


def own_profile(session: Session, account: Account, profile_id: str) -> Profile:
    """The account's profile ``profile_id``; anyone else's is a 404."""
    profile = find_profile(session, profile_id, account.application_id)
    if profile.account_id != account.id:
        raise NotFoundError(f"no profile {profile_id!r}")
    return profile


def application_of_profile(session: Session, profile_id: str) -> str | None:
    """The application whose sign-in page a relink link leads to (None: no such profile)."""
    profile = session.get(Profile, profile_id)
    account = session.get(Account, profile.account_id) if profile is not None else None
    return account.application_id if account is not None else None


def remove_calendar_service(
    engine: Engine, settings: Settings, box: SecretBox, account: Account, profile_id: str
) -> None:
    """Remove the account's profile and everything synced from it, as ``syncd profiles
    remove`` does (push channels stopped at the provider first; the account's channels
    told)."""
    with session_scope(engine) as session:
        own_profile(session, account, profile_id)
    stop_profile_channels(SyncContext(engine, settings, box), profile_id)
    with session_scope(engine) as session:
        remove_telling_channels(session, own_profile(session, account, profile_id))
