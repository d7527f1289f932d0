"""Conferencing service authorization over HTTP, as pycronofy's
``get_conferencing_services_auth_link`` uses it.

``POST /v1/conferencing_service_authorizations`` (account token) answers with a URL to
send the end user to: the provider's authorize page when ``provider_name`` is given, else
a small syncd page listing the configured services. The provider sends the user back to
this server's ``/oauth/conferencing/callback``, which trades the code, stores the
``ConferencingProfile`` (credentials encrypted) and redirects to the caller's
``redirect_uri`` with ``profile_id`` and ``provider_name`` (or ``error``).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from syncd.api.auth import account_caller
from syncd.api.context import app_settings
from syncd.api.paging import public_base_url
from syncd.conferencing import authorize
from syncd.conferencing.capabilities import AUTHORIZABLE
from syncd.config import Settings
from syncd.errors import AuthorizationError, FieldErrors
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account

router = APIRouter(tags=["conferencing"])

LABELS = {"zoom": "Zoom", "goto": "GoTo Meeting", "teams": "Microsoft Teams", "meet": "Google Meet"}


class AuthorizationRequestIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    redirect_uri: str = Field(min_length=1, max_length=2048)
    provider_name: str | None = Field(default=None, max_length=50)


class AuthorizationRequest(BaseModel):
    url: str


class AuthorizationRequestOut(BaseModel):
    authorization_request: AuthorizationRequest


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def _callback_url(request: Request, settings: Settings) -> str:
    return public_base_url(request, settings) + authorize.CALLBACK_PATH


@router.post("/v1/conferencing_service_authorizations", response_model=AuthorizationRequestOut)
def conferencing_service_authorization(
    request: Request,
    body: AuthorizationRequestIn,
    account: Account = Depends(account_caller),
    settings: Settings = Depends(app_settings),
) -> AuthorizationRequestOut:
    """A link that lets the account's end user authorize a conferencing service."""
    problems = FieldErrors()
    if not _is_web_url(body.redirect_uri):
        problems.add("redirect_uri", "errors.invalid", "redirect_uri must be an http(s) URL")
    provider = body.provider_name
    if provider is not None:
        if provider not in AUTHORIZABLE:
            problems.add(
                "provider_name",
                "errors.invalid",
                f"provider_name must be one of {', '.join(AUTHORIZABLE)}",
            )
        elif provider not in authorize.configured(settings):
            problems.add(
                "provider_name",
                "errors.not_configured",
                f"this server has no OAuth client for {provider}",
            )
    elif not authorize.configured(settings):
        problems.add(
            "provider_name", "errors.not_configured", "no conferencing service is configured"
        )
    problems.raise_if_any()
    state = authorize.issue_state(_box(request), account, body.redirect_uri, provider)
    if provider is None:
        url = f"{public_base_url(request, settings)}/oauth/conferencing/choose?" + urlencode(
            {"state": state}
        )
    else:
        url = authorize.authorization_url(
            settings, provider, state, _callback_url(request, settings)
        )
    return AuthorizationRequestOut(authorization_request=AuthorizationRequest(url=url))


@router.get("/oauth/conferencing/choose", response_class=HTMLResponse, include_in_schema=False)
def choose_service(
    request: Request, state: str = Query(), settings: Settings = Depends(app_settings)
) -> Response:
    """The end user picks one of the configured services."""
    try:
        authorize.read_state(_box(request), state)
    except AuthorizationError as error:
        return PlainTextResponse(str(error), status_code=400)
    base = public_base_url(request, settings)
    items = "".join(
        f'<li><a href="{html.escape(base)}/oauth/conferencing/start?'
        f'{html.escape(urlencode({"state": state, "provider_name": name}))}">'
        f"{html.escape(LABELS[name])}</a></li>"
        for name in authorize.configured(settings)
    )
    page = (
        "<!doctype html><title>Connect a conferencing service</title>"
        f"<h1>Connect a conferencing service</h1><ul>{items}</ul>"
    )
    return HTMLResponse(page)


@router.get("/oauth/conferencing/start", include_in_schema=False)
def start_authorization(
    request: Request,
    state: str = Query(),
    provider_name: str = Query(),
    settings: Settings = Depends(app_settings),
) -> Response:
    """Send the user to the chosen provider's authorize page."""
    box = _box(request)
    try:
        flow = authorize.read_state(box, state)
        if provider_name not in authorize.configured(settings):
            raise AuthorizationError(f"{provider_name!r} is not available here")
    except AuthorizationError as error:
        return PlainTextResponse(str(error), status_code=400)
    url = authorize.authorization_url(
        settings,
        provider_name,
        authorize.with_provider(box, flow, provider_name),
        _callback_url(request, settings),
    )
    return RedirectResponse(url, status_code=302)


@router.get(authorize.CALLBACK_PATH, include_in_schema=False)
def authorization_callback(
    request: Request,
    state: str = Query(default=""),
    code: str | None = Query(default=None),
    error: str | None = Query(default=None),
    settings: Settings = Depends(app_settings),
) -> Response:
    """The provider's redirect: store the grant, then return the user to the caller."""
    box = _box(request)
    try:
        flow = authorize.read_state(box, state)
        if flow.provider is None:
            raise AuthorizationError("invalid state")
    except AuthorizationError as problem:
        # Without a trustworthy state there is nowhere safe to send the user.
        return PlainTextResponse(str(problem), status_code=400)
    provider = flow.provider
    if error or not code:
        return _back(flow.redirect_uri, {"error": error or "invalid_request"})
    try:
        credentials = authorize.exchange_code(
            settings, provider, code, _callback_url(request, settings)
        )
    except AuthorizationError:
        return _back(flow.redirect_uri, {"error": "access_denied", "provider_name": provider})
    engine = request.app.state.engine
    with session_scope(engine) as session:
        account = session.get(Account, flow.account_id)
        if account is None or account.application_id != flow.application_id:
            return PlainTextResponse("the account no longer exists", status_code=400)
        label = authorize.profile_name(settings, provider, credentials, account)
        profile = authorize.store_profile(session, box, account, provider, label, credentials)
        profile_id = profile.id
    return _back(flow.redirect_uri, {"profile_id": profile_id, "provider_name": provider})


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _back(redirect_uri: str, params: dict[str, Any]) -> Response:
    """``redirect_uri`` with ``params`` added to whatever query it already has."""
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302)
