"""Bearer authentication, as Cronofy does it.

- The application's API key authenticates application-level calls (availability);
- an account's access token authenticates that account's own calls (calendars,
  profiles, userinfo, free/busy) and availability for that account alone.

Both are looked up by hash; a revoked or unknown credential is a 401. Every handler
receives a ``Caller`` and reads only rows of ``caller.application_id`` (and, for
account calls, of ``caller.account``), which is what keeps tenants apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from syncd.api.context import db_session
from syncd.errors import AuthenticationError, ForbiddenError
from syncd.store.db import read_only, session_scope
from syncd.store.models import Account
from syncd.store.tenants import account_for_access_token, application_for_api_key

#: Documents the scheme in OpenAPI; errors are ours (401 JSON), not FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, description="API key or account access token")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    """Who is calling: always an application; an account too when a token was used."""

    application_id: str
    account: Account | None = None


def _unauthorized(description: str) -> AuthenticationError:
    return AuthenticationError(description, headers=_CHALLENGE)


def authenticated_caller(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(db_session),
) -> Caller:
    """Any valid credential: an application API key or an account access token."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("an Authorization: Bearer header is required")
    secret = credentials.credentials
    application = application_for_api_key(session, secret)
    if application is not None:
        return Caller(application_id=application.id)
    account = account_for_access_token(session, secret)
    if account is not None:
        return Caller(application_id=account.application_id, account=account)
    raise _unauthorized("the credentials are not recognised")


def bearer_secret(authorization: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header value, if there is one."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def check_bearer(engine: Engine, authorization: str | None) -> None:
    """Raise the 401 :func:`authenticated_caller` would, without a request: the
    request-limits middleware calls it before a body is read."""
    secret = bearer_secret(authorization)
    if secret is None:
        raise _unauthorized("an Authorization: Bearer header is required")
    with session_scope(read_only(engine)) as session:
        if application_for_api_key(session, secret) is not None:
            return
        if account_for_access_token(session, secret) is not None:
            return
    raise _unauthorized("the credentials are not recognised")


def account_caller(caller: Caller = Depends(authenticated_caller)) -> Account:
    """The account whose own data is asked for; an API key names no account (403)."""
    if caller.account is None:
        raise ForbiddenError(
            "this endpoint reads one account's data: authenticate with that account's "
            "access token, not the application's API key",
        )
    return caller.account
