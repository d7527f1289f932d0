"""Account Security: what the page shows (second factor, sessions, recent sign-ins) and
the changes that need the password again (recovery codes, turning TOTP off).

Asking for the password again before these changes means a browser left signed in is
not enough to move or remove someone's second factor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from syncd.errors import ConflictError
from syncd.identity.accounts import check_current_password
from syncd.identity.sessions import SessionPolicy, active_sessions
from syncd.identity.signin import recent_sign_ins
from syncd.identity.totp import (
    disable_totp,
    regenerate_recovery_codes,
    totp_enabled,
    unused_recovery_codes,
)
from syncd.store.models import AccountCredential, SignInAttempt, WebSession


@dataclass(frozen=True)
class SecurityOverview:
    """Everything the Account Security page lists for one account."""

    totp_enabled_at: dt.datetime | None
    recovery_codes_left: int
    password_changed_at: dt.datetime | None
    sessions: list[WebSession]
    sign_ins: list[SignInAttempt]


def security_overview(
    session: Session, account_id: str, now: dt.datetime, policy: SessionPolicy
) -> SecurityOverview:
    credential = session.get(AccountCredential, account_id)
    sessions = [
        row
        for row in active_sessions(session, account_id, now)
        if row.last_seen_at + policy.idle > now
    ]
    return SecurityOverview(
        totp_enabled_at=credential.totp_enabled_at if credential else None,
        recovery_codes_left=unused_recovery_codes(session, account_id),
        password_changed_at=credential.password_changed_at if credential else None,
        sessions=sessions,
        sign_ins=recent_sign_ins(session, account_id, limit=15),
    )


def new_recovery_codes(
    session: Session, account_id: str, password: str, now: dt.datetime
) -> list[str]:
    """Ten new recovery codes (the old ones stop working), after the password."""
    check_current_password(session, account_id, password)
    if not totp_enabled(session, account_id):
        raise ConflictError("recovery codes come with two-step sign-in: turn it on first")
    return regenerate_recovery_codes(session, account_id, now)


def turn_off_totp(session: Session, account_id: str, password: str) -> None:
    """Remove the second factor and its recovery codes, after the password."""
    check_current_password(session, account_id, password)
    disable_totp(session, account_id)
