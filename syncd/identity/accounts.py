"""What a person changes about their own account: password, email, name, preferences.

Also the helpers other flows build on: creating an account with a password (a new user
in the OAuth authorization flow) and one-time invite links (``syncd accounts invite``).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlmodel import Session, col, func, select, update

from syncd.errors import ConflictError, NotFoundError, UserError, invalid
from syncd.identity.passwords import check_new_password, hash_password, verify_password
from syncd.identity.sessions import end_other_sessions
from syncd.identity.totp import credential_of
from syncd.store.crypto import hash_secret
from syncd.store.models import Account, AccountCredential, AccountInvite
from syncd.store.tenants import (
    create_account,
    find_account,
    normalised_email,
    validate_timezone,
)

WEEK_STARTS = ("monday", "sunday", "saturday")
TIME_FORMATS = ("24h", "12h")


def create_account_with_password(
    session: Session,
    application_id: str,
    email: str,
    password: str,
    *,
    name: str = "",
    timezone: str = "Etc/UTC",
    now: dt.datetime,
) -> Account:
    """A new account of the application that can sign in at once (email unique within
    the application, password at least ``MIN_PASSWORD_LENGTH`` characters)."""
    check_new_password(password)
    account = create_account(session, application_id, email, name, timezone)
    set_password(session, account.id, password, now)
    return account


def has_password(session: Session, account_id: str) -> bool:
    row = session.get(AccountCredential, account_id)
    return row is not None and row.password_hash is not None


def set_password(session: Session, account_id: str, password: str, now: dt.datetime) -> None:
    """Store a new password (argon2id); the person chose it, so it is checked first."""
    check_new_password(password)
    row = credential_of(session, account_id)
    row.password_hash = hash_password(password)
    row.password_changed_at = now
    session.add(row)


def check_current_password(session: Session, account_id: str, password: str) -> None:
    """A 422 on ``current_password`` unless it is the account's password."""
    row = session.get(AccountCredential, account_id)
    matches, new_hash = verify_password(row.password_hash if row else None, password)
    if not matches or row is None:
        raise invalid("current_password", "errors.wrong_password", "that is not your password")
    if new_hash is not None:
        row.password_hash = new_hash
        session.add(row)


def change_password(
    session: Session,
    account_id: str,
    current_password: str,
    new_password: str,
    *,
    keep_session_id: int | None,
    now: dt.datetime,
) -> int:
    """Replace the password after checking the current one; every other session of the
    account ends (whoever knew the old password is signed out). Returns how many ended."""
    check_current_password(session, account_id, current_password)
    check_new_password(new_password, field="new_password")
    set_password(session, account_id, new_password, now)
    return end_other_sessions(session, account_id, keep_session_id, now)


def change_email(session: Session, account: Account, new_email: str, password: str) -> Account:
    """Move the account to ``new_email`` (unique within its application) after checking
    the password: whoever walks up to a signed-in browser cannot take the account."""
    check_current_password(session, account.id, password)
    email = normalised_email(new_email)
    if email.lower() == account.email.lower():
        account.email = email
        session.add(account)
        return account
    taken = session.exec(
        select(Account.id).where(
            Account.application_id == account.application_id,
            func.lower(Account.email) == email.lower(),
            Account.id != account.id,
        )
    ).first()
    if taken is not None:
        raise ConflictError(f"another account already uses {email}")
    account.email = email
    session.add(account)
    return account


def update_preferences(
    session: Session,
    account: Account,
    *,
    name: str,
    timezone: str,
    week_start: str,
    time_format: str,
) -> Account:
    """Name, time zone (an IANA name), first day of the week, 12/24-hour clock."""
    name = name.strip()
    if len(name) > 200:
        raise invalid("name", "errors.too_long", "use at most 200 characters")
    if week_start not in WEEK_STARTS:
        raise invalid("week_start", "errors.invalid", f"one of {', '.join(WEEK_STARTS)}")
    if time_format not in TIME_FORMATS:
        raise invalid("time_format", "errors.invalid", f"one of {', '.join(TIME_FORMATS)}")
    try:
        validate_timezone(timezone.strip())
    except UserError:
        raise invalid(
            "timezone", "errors.invalid_timezone", f"{timezone!r} is not a time zone"
        ) from None
    account.name = name
    account.timezone = timezone.strip()
    account.week_start = week_start
    account.time_format = time_format
    session.add(account)
    return account


# --------------------------------------------------------------------------- invites


def create_invite(
    session: Session, account_id: str, *, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """A one-time token to set the account's password (printed as a link); older unused
    invites of the account stop working."""
    if session.get(Account, account_id) is None:
        raise NotFoundError(f"no account {account_id}")
    session.exec(
        update(AccountInvite)
        .where(col(AccountInvite.account_id) == account_id, col(AccountInvite.used_at).is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountInvite(
            account_id=account_id,
            token_hash=hash_secret(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def invite_first_password(
    session: Session,
    application_id: str,
    account_id: str,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta,
) -> str:
    """An application's one-time token for one of its accounts to set a first password
    (and so sign in to the hosted pages). Only while the account has none: a password
    the person chose is theirs to change on Account Security, never the application's
    to reset (that would let it sign in as them)."""
    account = find_account(session, account_id, application_id)  # another's: 404
    if has_password(session, account.id):
        raise ConflictError(
            "the account already has a password: the person changes it on Account Security"
        )
    return create_invite(session, account.id, now=now, lifetime=lifetime)


def account_for_invite(session: Session, token: str, now: dt.datetime) -> Account | None:
    """The account an unused, unexpired invite token is for."""
    invite = _live_invite(session, token, now)
    return session.get(Account, invite.account_id) if invite else None


def redeem_invite(session: Session, token: str, password: str, now: dt.datetime) -> Account:
    """Set the password through an invite (once); returns the account to sign in."""
    invite = _live_invite(session, token, now)
    if invite is None:
        raise NotFoundError("this link has expired or was already used; ask for a new one")
    set_password(session, invite.account_id, password, now)
    invite.used_at = now
    session.add(invite)
    account = session.get(Account, invite.account_id)
    assert account is not None  # foreign key
    return account


def _live_invite(session: Session, token: str, now: dt.datetime) -> AccountInvite | None:
    invite = session.exec(
        select(AccountInvite).where(AccountInvite.token_hash == hash_secret(token))
    ).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    return invite
