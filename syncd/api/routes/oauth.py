"""POST /oauth/token and /oauth/token/revoke: Cronofy's token endpoint (RFC 6749, 7009).

Bodies are JSON (pycronofy, the npm SDK) or form-encoded (the Ruby SDK, RFC 6749 itself);
the client authenticates with ``client_id`` + ``client_secret`` in the body or with HTTP
Basic (RFC 6749 §2.3.1). Errors are RFC 6749 §5.2 bodies with 400 (401 for
``invalid_client``); answers are never cached.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from syncd.api.context import app_settings, write_session
from syncd.api.errors import NO_STORE
from syncd.api.routes.views import linking_profile_view
from syncd.config import Settings
from syncd.errors import OAuthError
from syncd.store.oauth import (
    IssuedTokens,
    authenticate_client,
    exchange_code,
    refresh_grant,
    revoke_account_authorizations,
    revoke_token,
)

router = APIRouter(tags=["oauth"])

_FORM = "application/x-www-form-urlencoded"


async def oauth_params(request: Request) -> dict[str, str]:
    """The request's parameters, from a JSON object or a form body, with HTTP Basic
    client credentials folded in; every value a string."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    if raw:
        if content_type == _FORM:
            try:
                pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                raise OAuthError("invalid_request", "the form body cannot be read") from None
            for key, value in pairs:
                if key in params:
                    raise OAuthError("invalid_request", f"{key} is given more than once")
                params[key] = value
        else:
            params = _json_params(raw)
    _basic_credentials(request, params)
    return params


def _json_params(raw: bytes) -> dict[str, str]:
    try:
        document: Any = json.loads(raw)
    except ValueError:
        raise OAuthError("invalid_request", "the body is neither JSON nor form-encoded") from None
    if not isinstance(document, dict):
        raise OAuthError("invalid_request", "the JSON body must be an object")
    params: dict[str, str] = {}
    for key, value in document.items():
        if value is None:
            continue
        if not isinstance(value, str | int | float | bool):
            raise OAuthError("invalid_request", f"{key} must be a string")
        params[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return params


def _basic_credentials(request: Request, params: dict[str, str]) -> None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials cannot be read") from None
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "the Basic credentials cannot be read")
    for key, given in (
        ("client_id", unquote_plus(client_id)),
        ("client_secret", unquote_plus(client_secret)),
    ):
        if params.get(key, given) != given:
            raise OAuthError("invalid_request", f"{key} differs between the body and Basic")
        params[key] = given


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


def _lifetime(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.oauth_access_token_lifetime)


def _answer(tokens: IssuedTokens, with_account: bool) -> JSONResponse:
    body: dict[str, Any] = {
        "token_type": "bearer",
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
        "scope": tokens.scope,
    }
    if with_account:
        body["account_id"] = body["sub"] = tokens.account_id
        if tokens.linking_profile is not None:
            body["linking_profile"] = linking_profile_view(tokens.linking_profile)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth/token")
async def token(request: Request, settings: Settings = Depends(app_settings)) -> Response:
    """``authorization_code`` and ``refresh_token`` grants."""
    params = await oauth_params(request)
    grant_type = _required(params, "grant_type")
    client_id = params.get("client_id", "")
    client_secret = params.get("client_secret", "")
    engine = request.app.state.engine
    if grant_type == "authorization_code":
        tokens = exchange_code(
            engine,
            client_id,
            client_secret,
            _required(params, "code"),
            _required(params, "redirect_uri"),
            params.get("code_verifier") or None,
            _lifetime(settings),
        )
        return _answer(tokens, with_account=True)
    if grant_type == "refresh_token":
        tokens = refresh_grant(
            engine,
            client_id,
            client_secret,
            _required(params, "refresh_token"),
            _lifetime(settings),
        )
        return _answer(tokens, with_account=False)
    raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")


@router.post("/oauth/token/revoke")
async def revoke(
    request: Request, session: Session = Depends(write_session, scope="function")
) -> Response:
    """Revoke the authorization behind ``token`` (an access or refresh token), or every
    authorization of account ``sub``; 200 whether or not there was one (RFC 7009 §2.2).
    cronofy-node's ``revokeAuthorization`` sends the ``refresh_token`` it holds instead
    of ``token``: that names the authorization too."""
    params = await oauth_params(request)
    application = authenticate_client(
        session, params.get("client_id", ""), params.get("client_secret", "")
    )
    token = params.get("token") or params.get("refresh_token")
    if token:
        revoke_token(session, application, token)
    elif params.get("sub"):
        revoke_account_authorizations(session, application, params["sub"])
    else:
        raise OAuthError("invalid_request", "token (or sub) is required")
    return Response(status_code=200, headers=NO_STORE)
