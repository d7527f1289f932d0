"""OAuth 2.0 grants as Cronofy runs them (RFC 6749, PKCE per RFC 7636).

An end user's consent (the hosted /oauth/authorize flow) leaves a one-time authorization
code; the application trades it, with its client_secret, for a grant: an expiring access
token and a refresh token that is rotated on every use. Codes and tokens are stored as
SHA-256 hashes only. Replays are treated as RFC 6749 §4.1.2 and the OAuth security BCP
say: a code used twice, or a refresh token used after it was rotated, revokes everything
the grant issued. Each check is scoped to the calling application, so one application's
codes and tokens are useless to another.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from syncd.errors import OAuthError
from syncd.ids import new_id
from syncd.store.crypto import hash_secret, new_api_secret
from syncd.store.db import session_scope
from syncd.store.models import (
    AccessToken,
    Account,
    Application,
    AuthorizationCode,
    OAuthGrant,
    Profile,
    RefreshToken,
    utcnow,
)
from syncd.store.tenants import application_for_api_key, application_for_client_id

#: Cronofy's scopes (https://docs.cronofy.com/developers/api/authorization/scopes/).
SCOPES = (
    "read_account",
    "list_calendars",
    "read_events",
    "create_event",
    "delete_event",
    "read_free_busy",
    "create_calendar",
    "change_participation_status",
)
#: Cronofy's shorthands, and what each stands for.
SCOPE_SHORTHANDS = {
    "read_only": ("read_account", "list_calendars", "read_events", "read_free_busy"),
    "read_write": SCOPES,
}
#: How long a code may wait for /oauth/token (RFC 6749 §4.1.2: "maximum of 10 minutes").
CODE_LIFETIME = dt.timedelta(minutes=5)
#: RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def normalised_scope(scope: str) -> str:
    """The requested scope, each name once and in order; ``invalid_scope`` when empty or
    naming something Cronofy does not define."""
    names: list[str] = []
    for name in scope.replace(",", " ").split():
        if name not in SCOPES and name not in SCOPE_SHORTHANDS:
            raise OAuthError("invalid_scope", f"unknown scope {name!r}")
        if name not in names:
            names.append(name)
    if not names:
        raise OAuthError("invalid_scope", "a scope is required (e.g. read_account read_events)")
    return " ".join(names)


def granted_scopes(scope: str | None) -> frozenset[str] | None:
    """The individual scopes a stored scope string grants (shorthands expanded); None
    for an operator-issued token, which may do everything."""
    if scope is None:
        return None
    names: set[str] = set()
    for name in scope.split():
        names.update(SCOPE_SHORTHANDS.get(name, (name,)))
    return frozenset(names)


def checked_code_challenge(challenge: str | None, method: str | None) -> str | None:
    """An RFC 7636 S256 challenge (``plain`` is refused: it protects nothing the
    authorization request does not already show)."""
    if not challenge:
        if method:
            raise OAuthError("invalid_request", "code_challenge_method without code_challenge")
        return None
    if (method or "plain") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not _CHALLENGE.fullmatch(challenge):
        raise OAuthError("invalid_request", "code_challenge must be 43 base64url characters")
    return challenge


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class IssuedTokens:
    """What /oauth/token answers (the route shapes it)."""

    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    account_id: str
    linking_profile: Profile | None = None


def authenticate_client(session: Session, client_id: str, client_secret: str) -> Application:
    """The application whose client_id and (valid) client_secret these are; else
    ``invalid_client`` (401) without saying which of the two was wrong."""
    application = application_for_client_id(session, client_id) if client_id else None
    owner = application_for_api_key(session, client_secret) if client_secret else None
    if application is None or owner is None or owner.id != application.id:
        raise OAuthError("invalid_client", "client authentication failed")
    return application


def issue_code(
    session: Session,
    application: Application,
    account: Account,
    redirect_uri: str,
    scope: str,
    profile_id: str | None = None,
    code_challenge: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A one-time code for the account's consent (shown once; stored hashed)."""
    if account.application_id != application.id:
        raise OAuthError("invalid_request", "the account belongs to another application")
    code = new_api_secret("code")
    session.add(
        AuthorizationCode(
            code_hash=hash_secret(code),
            application_id=application.id,
            account_id=account.id,
            redirect_uri=redirect_uri,
            scope=scope,
            profile_id=profile_id,
            code_challenge=code_challenge,
            expires_at=(now or utcnow()) + CODE_LIFETIME,
        )
    )
    session.flush()
    return code


def exchange_code(
    engine: Engine,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    access_lifetime: dt.timedelta,
) -> IssuedTokens:
    """``grant_type=authorization_code``: a new grant for a valid, unused code.

    A code presented a second time revokes the grant its first use created (and that
    revocation is committed although the request fails)."""
    replayed: str | None = None
    with session_scope(engine) as session:
        application = authenticate_client(session, client_id, client_secret)
        row = session.exec(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_secret(code))
        ).first()
        if row is None or row.application_id != application.id:
            raise OAuthError("invalid_grant", "the code is not valid")
        now = utcnow()
        if not _claim_code(session, row, now):
            replayed = row.grant_id
        else:
            _check_code(row, redirect_uri, code_verifier, now)
            grant = OAuthGrant(
                id=new_id("grt"),
                application_id=application.id,
                account_id=row.account_id,
                scope=row.scope,
                linking_profile_id=row.profile_id,
            )
            session.add(grant)
            session.flush()
            row.grant_id = grant.id
            session.add(row)
            return _issue(session, grant, now, access_lifetime)
    if replayed is not None:
        with session_scope(engine) as session:
            revoke_grant(session, replayed)
    raise OAuthError("invalid_grant", "the code was already used")


def _claim_code(session: Session, row: AuthorizationCode, now: dt.datetime) -> bool:
    """Mark the code used, atomically: False when it was used already (a replay)."""
    result = session.exec(
        update(AuthorizationCode)
        .where(col(AuthorizationCode.id) == row.id, col(AuthorizationCode.used_at).is_(None))
        .values(used_at=now)
    )
    session.refresh(row)
    return bool(result.rowcount == 1)


def _check_code(
    row: AuthorizationCode, redirect_uri: str, code_verifier: str | None, now: dt.datetime
) -> None:
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "the code has expired")
    if row.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
    if row.code_challenge is None:
        if code_verifier:
            raise OAuthError("invalid_grant", "code_verifier sent for a code without a challenge")
        return
    if not code_verifier or not _VERIFIER.fullmatch(code_verifier):
        raise OAuthError("invalid_grant", "a code_verifier (RFC 7636) is required for this code")
    if not hmac.compare_digest(s256(code_verifier), row.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def refresh_grant(
    engine: Engine,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    access_lifetime: dt.timedelta,
) -> IssuedTokens:
    """``grant_type=refresh_token``: a new access token and a new refresh token; the one
    presented stops working. Presenting a rotated-out refresh token again revokes the
    grant (someone else has a copy)."""
    replayed: str | None = None
    with session_scope(engine) as session:
        application = authenticate_client(session, client_id, client_secret)
        row = session.exec(
            select(RefreshToken).where(RefreshToken.token_hash == hash_secret(refresh_token))
        ).first()
        grant = session.get(OAuthGrant, row.grant_id) if row is not None else None
        if row is None or grant is None or grant.application_id != application.id:
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        if grant.revoked_at is not None or row.revoked_at is not None:
            raise OAuthError("invalid_grant", "the authorization was revoked")
        now = utcnow()
        claimed = session.exec(
            update(RefreshToken)
            .where(col(RefreshToken.id) == row.id, col(RefreshToken.used_at).is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount == 1:
            return _issue(session, grant, now, access_lifetime)
        replayed = grant.id
    with session_scope(engine) as session:
        revoke_grant(session, replayed)
    raise OAuthError("invalid_grant", "the refresh token was already used")


def _issue(
    session: Session, grant: OAuthGrant, now: dt.datetime, access_lifetime: dt.timedelta
) -> IssuedTokens:
    access_token = new_api_secret("at")
    refresh_token = new_api_secret("rt")
    session.add(
        AccessToken(
            account_id=grant.account_id,
            token_hash=hash_secret(access_token),
            grant_id=grant.id,
            expires_at=now + access_lifetime,
        )
    )
    session.add(RefreshToken(grant_id=grant.id, token_hash=hash_secret(refresh_token)))
    session.flush()
    profile = session.get(Profile, grant.linking_profile_id) if grant.linking_profile_id else None
    return IssuedTokens(
        access_token=access_token,
        expires_in=int(access_lifetime.total_seconds()),
        refresh_token=refresh_token,
        scope=grant.scope,
        account_id=grant.account_id,
        linking_profile=profile,
    )


def revoke_grant(session: Session, grant_id: str) -> None:
    """Revoke a grant with every access and refresh token it issued."""
    now = utcnow()
    grant = session.get(OAuthGrant, grant_id)
    if grant is None:
        return
    if grant.revoked_at is None:
        grant.revoked_at = now
        session.add(grant)
    for table in (AccessToken, RefreshToken):
        session.exec(
            update(table)
            .where(col(table.grant_id) == grant_id, col(table.revoked_at).is_(None))
            .values(revoked_at=now)
        )


def revoke_token(session: Session, application: Application, token: str) -> None:
    """RFC 7009 for the calling application: an access or refresh token revokes its whole
    grant (an operator-issued access token only itself); a token that is unknown, or
    another application's, changes nothing (and the caller learns nothing)."""
    token_hash = hash_secret(token)
    refresh = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    ).first()
    if refresh is not None:
        _revoke_grant_of(session, application, refresh.grant_id)
        return
    access = session.exec(select(AccessToken).where(AccessToken.token_hash == token_hash)).first()
    if access is None:
        return
    account = session.get(Account, access.account_id)
    if account is None or account.application_id != application.id:
        return
    if access.grant_id is not None:
        _revoke_grant_of(session, application, access.grant_id)
    elif access.revoked_at is None:
        access.revoked_at = utcnow()
        session.add(access)


def _revoke_grant_of(session: Session, application: Application, grant_id: str) -> None:
    grant = session.get(OAuthGrant, grant_id)
    if grant is not None and grant.application_id == application.id:
        revoke_grant(session, grant_id)


def revoke_account_authorizations(session: Session, application: Application, sub: str) -> None:
    """Revoke every grant and access token the application holds for account ``sub``
    (the Ruby SDK's ``revoke_authorization(sub: …)``); another application's is untouched."""
    account = session.get(Account, sub)
    if account is None or account.application_id != application.id:
        return
    for grant in session.exec(
        select(OAuthGrant).where(OAuthGrant.account_id == sub, col(OAuthGrant.revoked_at).is_(None))
    ):
        revoke_grant(session, grant.id)
    session.exec(
        update(AccessToken)
        .where(col(AccessToken.account_id) == sub, col(AccessToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def access_token_holder(session: Session, token: str) -> tuple[Account, str | None] | None:
    """The account of an unrevoked, unexpired access token and the scope it carries: its
    grant's, or None (every scope) for an operator-issued token. One joined read: every
    account request asks this."""
    found = session.exec(
        select(AccessToken, Account, OAuthGrant.scope)
        .join(Account, col(Account.id) == col(AccessToken.account_id))
        .outerjoin(OAuthGrant, col(OAuthGrant.id) == col(AccessToken.grant_id))
        .where(
            col(AccessToken.token_hash) == hash_secret(token),
            col(AccessToken.revoked_at).is_(None),
        )
    ).first()
    if found is None:
        return None
    row, account, grant_scope = found
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    if row.grant_id is None:
        return account, None
    return account, grant_scope if grant_scope is not None else ""
