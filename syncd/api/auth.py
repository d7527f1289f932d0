"""Bearer authentication, as Cronofy does it.

- The application's API key authenticates application-level calls (availability);
- an account's access token authenticates that account's own calls (calendars,
  profiles, userinfo, free/busy) and availability for that account alone.

Both are looked up by hash; a revoked, expired or unknown credential is a 401. Every
handler receives a ``Caller`` and reads only rows of ``caller.application_id`` (and, for
account calls, of ``caller.account``), which is what keeps tenants apart.

An access token from /oauth/token carries its grant's scope: a route outside it is a 403
(:mod:`syncd.api.scopes` says which scope each route needs). API keys and
operator-issued tokens may call everything.

A request is authenticated once: a ``/v1`` request with a body is authenticated by the
request-limits middleware before its body is read (:func:`check_bearer`), which leaves
what it found in the ASGI scope under :data:`AUTHENTICATED`; the route's dependency
takes it from there instead of looking the credential up again. Everything else (a
request without a body) is looked up by the dependency itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from syncd.api.context import db_session
from syncd.api.scopes import required_scope
from syncd.errors import AuthenticationError, ForbiddenError
from syncd.store.db import read_only, session_scope
from syncd.store.models import Account
from syncd.store.oauth import SCOPES, access_token_holder, granted_scopes
from syncd.store.personal_links import extension_token_owner
from syncd.store.tenants import application_for_api_key

#: Documents the scheme in OpenAPI; errors are ours (401 JSON), not FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, description="API key or account access token")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    """Who is calling: always an application; an account too when a token was used."""

    application_id: str
    account: Account | None = None
    #: The token's scope as granted (None: an API key or operator-issued token, which
    #: may do everything).
    scope: str | None = None


#: The ASGI scope key under which the request-limits middleware leaves its
#: :class:`Authenticated` (a server-side key: no client input can set it).
AUTHENTICATED = "syncd.authenticated"


@dataclass(frozen=True)
class Authenticated:
    """What :func:`check_bearer` found for one ``Authorization`` header value."""

    #: The header value it was found for: the dependency uses it only for the same one.
    authorization: str
    #: The caller, or None for an extension token (a credential only
    #: /v1/personalized_links takes, which authenticates by itself).
    caller: Caller | None


def _unauthorized(description: str) -> AuthenticationError:
    return AuthenticationError(description, headers=_CHALLENGE)


def _caller_for(session: Session, secret: str) -> Caller | None:
    """The caller a bearer secret is: an unrevoked API key's application, or an unrevoked,
    unexpired access token's account with the token's scope; else None."""
    application = application_for_api_key(session, secret)
    if application is not None:
        return Caller(application_id=application.id)
    holder = access_token_holder(session, secret)
    if holder is None:
        return None
    account, scope = holder
    return Caller(account.application_id, account, scope)


def _handed_caller(request: Request) -> Authenticated | None:
    """The middleware's finding for this request's own ``Authorization`` header, if any."""
    handed = request.scope.get(AUTHENTICATED)
    if not isinstance(handed, Authenticated):
        return None
    if handed.authorization != request.headers.get("authorization"):
        return None
    return handed


def authenticated_caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(db_session),
) -> Caller:
    """Any valid credential: an application API key or an account access token (whose
    scope must cover the route)."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("an Authorization: Bearer header is required")
    handed = _handed_caller(request)
    caller = handed.caller if handed is not None else _caller_for(session, credentials.credentials)
    if caller is None:
        raise _unauthorized("the credentials are not recognised")
    _check_scope(request, caller)
    return caller


def _check_scope(request: Request, caller: Caller) -> None:
    scopes = granted_scopes(caller.scope)
    if scopes is None:
        return
    route = request.scope.get("route")
    needed = required_scope(request.method, str(getattr(route, "path", request.url.path)))
    if needed not in scopes:
        raise ForbiddenError(
            f"the access token's scope ({caller.scope or 'none'}) does not include {needed}",
            code="insufficient_scope",
        )


def bearer_secret(authorization: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header value, if there is one."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def check_bearer(engine: Engine, authorization: str | None) -> Authenticated:
    """Raise the 401 :func:`authenticated_caller` would, without a request: the
    request-limits middleware calls it before a body is read, and hands what it found
    to the route's dependency."""
    secret = bearer_secret(authorization)
    if authorization is None or secret is None:
        raise _unauthorized("an Authorization: Bearer header is required")
    with session_scope(read_only(engine)) as session:
        caller = _caller_for(session, secret)
        # An extension token: only /v1/personalized_links accepts it; other routes 401.
        known = caller is not None or extension_token_owner(session, secret) is not None
    if not known:
        raise _unauthorized("the credentials are not recognised")
    return Authenticated(authorization, caller)


def account_caller(caller: Caller = Depends(authenticated_caller)) -> Account:
    """The account whose own data is asked for; an API key names no account (403)."""
    return _account_of(caller)


def account_token_caller(caller: Caller = Depends(authenticated_caller)) -> Caller:
    """As :func:`account_caller`, keeping the token's scope (userinfo, account)."""
    _account_of(caller)
    return caller


def application_caller(caller: Caller = Depends(authenticated_caller)) -> Caller:
    """The application itself: its API key (an account's access token is a 403)."""
    if caller.account is not None:
        raise ForbiddenError(
            "this endpoint takes the application's API key, not an account's access token",
            code="api_key_required",
        )
    return caller


def effective_scope(caller: Caller) -> str:
    """What the caller's token may do, as a scope string: its grant's, or every scope
    for an operator-issued token."""
    return caller.scope if caller.scope is not None else " ".join(SCOPES)


def _account_of(caller: Caller) -> Account:
    if caller.account is None:
        raise ForbiddenError(
            "this endpoint reads one account's data: authenticate with that account's "
            "access token, not the application's API key",
        )
    return caller.account
