"""Server-side sessions of the hosted pages, stored in the database.

The browser holds a random token (the cookie); the store keeps only its SHA-256, so a
database dump signs nobody in. A session ends when it is unused for the idle timeout, at
its absolute expiry, on sign-out, or when the person signs out every other session.
Signing in always starts a new session (the token is rotated) and ends the one that
carried the password step, so a token planted before sign-in is worth nothing after.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select, update

from syncd.store.crypto import hash_secret
from syncd.store.models import Account, WebSession

SIGNED_IN = "signed_in"
#: Between a correct password and the TOTP (or recovery) code.
SECOND_FACTOR = "second_factor"
#: A session waiting for its second factor lasts at most this long.
SECOND_FACTOR_MINUTES = 10.0
#: ``last_seen_at`` is rewritten at most this often (idle expiry is coarse anyway).
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last (from ``[web]`` settings)."""

    idle: dt.timedelta
    absolute: dt.timedelta


@dataclass(frozen=True)
class StartedSession:
    """A new session: the token for the cookie (never stored) and its row."""

    token: str
    row: WebSession


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, recorded with sessions and sign-in attempts."""

    address: str = ""
    user_agent: str = ""


def start_session(
    session: Session,
    *,
    kind: str,
    now: dt.datetime,
    policy: SessionPolicy,
    client: ClientInfo,
    account: Account | None = None,
    stage: str = SIGNED_IN,
    replaces: WebSession | None = None,
) -> StartedSession:
    """A new session (``kind`` account or operator); ``replaces`` is ended (rotation)."""
    if replaces is not None and replaces.revoked_at is None:
        replaces.revoked_at = now
        session.add(replaces)
    token = secrets.token_urlsafe(32)
    lifetime = (
        dt.timedelta(minutes=SECOND_FACTOR_MINUTES) if stage == SECOND_FACTOR else policy.absolute
    )
    row = WebSession(
        token_hash=hash_secret(token),
        kind=kind,
        application_id=account.application_id if account else None,
        account_id=account.id if account else None,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        client_address=client.address[:64],
        user_agent=client.user_agent[:512],
    )
    session.add(row)
    session.flush()
    return StartedSession(token, row)


def find_session(
    session: Session, token: str | None, now: dt.datetime, policy: SessionPolicy
) -> WebSession | None:
    """The live session a cookie's token names: not ended, not idle too long, not past
    its absolute expiry; else None."""
    if not token:
        return None
    row = session.exec(
        select(WebSession).where(WebSession.token_hash == hash_secret(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + policy.idle <= now:
        return None
    return row


def touch_session(session: Session, row: WebSession, now: dt.datetime) -> None:
    """Note that the session was used (idle expiry counts from here); throttled."""
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)


def end_session(session: Session, row: WebSession, now: dt.datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)


def end_other_sessions(
    session: Session, account_id: str, keep_id: int | None, now: dt.datetime
) -> int:
    """Sign out every session of the account but ``keep_id``; returns how many ended."""
    statement = (
        update(WebSession)
        .where(
            col(WebSession.account_id) == account_id,
            col(WebSession.revoked_at).is_(None),
            col(WebSession.expires_at) > now,
            col(WebSession.id) != (keep_id if keep_id is not None else -1),
        )
        .values(revoked_at=now)
    )
    result = session.exec(statement)
    return int(result.rowcount or 0)


def active_sessions(session: Session, account_id: str, now: dt.datetime) -> list[WebSession]:
    """The account's signed-in sessions that have not ended, newest first."""
    rows = session.exec(
        select(WebSession)
        .where(
            WebSession.account_id == account_id,
            WebSession.stage == SIGNED_IN,
            col(WebSession.revoked_at).is_(None),
            WebSession.expires_at > now,
        )
        .order_by(col(WebSession.created_at).desc())
    )
    return list(rows)
