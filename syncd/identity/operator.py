"""The operator's own sign-in to the operator view of the hosted pages.

One password, set at the CLI (``syncd operator set-password``) by whoever can read the
configuration and database, stored as an argon2id hash. It signs in operator sessions
only: an operator session reads every application's accounts and profiles (what
``syncd status`` shows) and is never an account's session. Attempts are rate limited
like an account's (login ``operator``, and per address).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from syncd.errors import TooManyAttempts
from syncd.identity.passwords import check_new_password, hash_password, verify_password
from syncd.identity.sessions import ClientInfo
from syncd.identity.signin import (
    OPERATOR,
    Login,
    SignInLimits,
    check_not_locked,
    record_attempt,
)
from syncd.store.models import OperatorCredential

WRONG_OPERATOR_PASSWORD = "That is not the operator password."


def set_operator_password(session: Session, password: str, now: dt.datetime) -> None:
    check_new_password(password)
    row = session.get(OperatorCredential, "operator")
    if row is None:
        row = OperatorCredential(id="operator", password_hash="", changed_at=now)
    row.password_hash = hash_password(password)
    row.changed_at = now
    session.add(row)


def operator_password_set(session: Session) -> bool:
    return session.get(OperatorCredential, "operator") is not None


def verify_operator_sign_in(
    session: Session, limits: SignInLimits, password: str, client: ClientInfo, now: dt.datetime
) -> str | TooManyAttempts | None:
    """None when the password is right; else the wrong-password message, or the lock
    (its message and ``Retry-After``). Returned, not raised: the attempt just recorded
    must commit with the caller's transaction."""
    scope = Login(OPERATOR, None, "operator")
    try:
        check_not_locked(session, limits, scope, client, now)
    except TooManyAttempts as locked:
        return locked
    row = session.get(OperatorCredential, "operator")
    matches, new_hash = verify_password(row.password_hash if row else None, password)
    record_attempt(session, scope, client, now, succeeded=matches, method="password")
    if not matches or row is None:
        try:
            check_not_locked(session, limits, scope, client, now)
        except TooManyAttempts as locked:
            return locked
        return WRONG_OPERATOR_PASSWORD
    if new_hash is not None:
        row.password_hash = new_hash
        session.add(row)
    return None
