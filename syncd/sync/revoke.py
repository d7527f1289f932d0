"""Taking a profile away: revoking it through the API (``POST /v1/profiles/{id}/revoke``),
or removing it (Calendar Services, ``syncd profiles remove``).

The push channels are stopped at the provider while the credentials still work, then in
one transaction the profile is disconnected (or deleted), its events removed, and the
account's open notification channels told, as a disconnection found by a sync tells them
(``profile_disconnected``, and ``change`` for the calendars that lost their events).
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from syncd.config import Settings
from syncd.errors import NotFoundError
from syncd.notify.channels import notify_changes, on_profile_disconnected
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Profile, utcnow
from syncd.store.profiles import find_profile, remove_profile, revoke_profile_access
from syncd.sync.push import stop_profile_channels
from syncd.sync.run import SyncContext


def revoke_profile(
    engine: Engine, settings: Settings, box: SecretBox, account: Account, profile_id: str
) -> None:
    """Disconnect ``account``'s profile ``profile_id`` (404 for anyone else's)."""
    with session_scope(engine) as session:
        profile = find_profile(session, profile_id, account.application_id)
        if profile.account_id != account.id:
            raise NotFoundError(f"no profile {profile_id!r}")
    stop_profile_channels(SyncContext(engine, settings, box), profile_id)
    with session_scope(engine) as session:
        profile = find_profile(session, profile_id, account.application_id)
        started = utcnow()
        emptied = revoke_profile_access(session, box, profile)
        on_profile_disconnected(session, profile)
        notify_changes(session, account.id, emptied, started)


def remove_telling_channels(session: Session, profile: Profile) -> None:
    """Delete ``profile`` and everything synced from it (its push channels stopped
    first), telling the account's open channels in the same transaction."""
    started = utcnow()
    on_profile_disconnected(session, profile)
    account_id = profile.account_id
    removed = remove_profile(session, profile)
    notify_changes(session, account_id, removed, started)
