"""The start of the hosted authorization flow: ``GET /oauth/authorize`` (Cronofy's
``user_auth_link``), ``profile_relink_url``, and the step where the person says who they
are (sign in, with the TOTP step when they have one, or create an account).

The flow travels from page to page as a sealed :class:`~syncd.authorization.flow.Flow`
in ``?flow=`` and in the forms; once the person is known it is sealed again bound to
their account, so later steps refuse anyone else. The service choice and the
connecting steps are in :mod:`syncd.web.pages.connect`.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.authorization.flow import (
    AUTHORIZE,
    Flow,
    RedirectWithError,
    authorization_request,
    redirect_origin,
)
from syncd.errors import AuthorizationError, ConflictError, TooManyAttempts, UserError
from syncd.identity.passwords import MIN_PASSWORD_LENGTH
from syncd.identity.sessions import (
    SECOND_FACTOR,
    SIGNED_IN,
    StartedSession,
)
from syncd.identity.signin import sign_up, verify_password_sign_in
from syncd.store.models import Account
from syncd.store.tenants import find_application, validate_timezone
from syncd.sync.calendar_services import application_of_profile
from syncd.web.auth import (
    SignedIn,
    SignInRequired,
    complete_second_factor,
    pending_second_factor,
    refused_code_page,
    set_session_cookie,
    signed_in,
    start_account_session,
)
from syncd.web.context import (
    box_of,
    client_of,
    now_of,
    page_path,
    reading,
    render,
    settings_of,
    sign_in_limits,
    transaction,
)
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error
from syncd.web.headers import PAGE_HEADERS, content_security_policy

#: Served at the server's root, where Cronofy's SDKs send people.
root_router = APIRouter()
#: Served under the pages' prefix.
router = APIRouter()
Text = Annotated[str, Form()]


def open_flow(request: Request, token: str) -> Flow:
    return Flow.open(box_of(request), token)


def flow_url(request: Request, name: str, flow: Flow, **path_params: str) -> str:
    """The page ``name`` continuing ``flow``."""
    sealed = flow.seal(box_of(request))
    return page_path(request, name, **path_params) + "?" + urlencode({"flow": sealed})


def allow_redirect_to_app(response: Response, flow: Flow) -> Response:
    """A page whose forms end at the application (decline, allow, the last step) may
    send the browser to its origin: its own ``form-action``."""
    origin = redirect_origin(flow)
    if origin is not None:
        response.headers["Content-Security-Policy"] = content_security_policy([origin])
    return response


def person(request: Request) -> SignedIn | None:
    """Who is signed in on this browser, if anyone."""
    try:
        return signed_in(request)
    except SignInRequired:
        return None


def flow_account(request: Request, flow: Flow) -> Account | None:
    """The account this flow continues as: the one it is bound to (when that person is
    signed in here), else whoever is signed in to the same application, unless the
    application asked to ``avoid_linking``. None: the person must say who they are."""
    who = person(request)
    if who is None or who.account.application_id != flow.application_id:
        return None
    if flow.account_id is not None:
        return who.account if who.account.id == flow.account_id else None
    return None if flow.avoid_linking else who.account


def bound(flow: Flow, account: Account) -> Flow:
    return dataclasses.replace(flow, account_id=account.id)


def application_name(request: Request, flow: Flow) -> str:
    with reading(request) as session:
        return find_application(session, flow.application_id).name


@root_router.get("/oauth/authorize", name="oauth.authorize")
def authorize(request: Request) -> Response:
    """RFC 6749 §4.1.1. An unknown client or unregistered redirect URI gets an error
    page (never a redirect); other problems go back to the application."""
    try:
        with reading(request) as session:
            flow = authorization_request(session, dict(request.query_params))
    except AuthorizationError as problem:
        return _root_error(request, problem)
    except RedirectWithError as refused:
        return RedirectResponse(refused.location, status_code=303)
    return RedirectResponse(flow_url(request, "web.connect", flow), status_code=303)


@root_router.get("/oauth/profiles/{profile_id}/relink", name="oauth.relink")
def relink(request: Request, profile_id: str) -> Response:
    """``profile_relink_url``: the person signs in (to the profile's application), then
    reconnects that profile from Calendar Services."""
    target = page_path(request, "web.calendar_reconnect", profile_id=profile_id)
    if person(request) is not None:
        return RedirectResponse(target, status_code=303)
    with reading(request) as session:
        application_id = application_of_profile(session, profile_id)
    query = {"next": target} | ({"app": application_id} if application_id else {})
    location = page_path(request, "web.sign_in") + "?" + urlencode(query)
    return RedirectResponse(location, status_code=303)


def _root_error(request: Request, problem: UserError) -> Response:
    response = render(
        request,
        "connect_error.html",
        {"title": "This link cannot be used", "message": form_error(problem)},
        status_code=400,
    )
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers.update(PAGE_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def who_page(request: Request, flow: Flow, status: int = 200, **context: object) -> Response:
    """Sign in or create an account, to continue ``flow``."""
    response = render(
        request,
        "connect_who.html",
        {
            "title": "Sign in to connect your calendar",
            "application_name": application_name(request, flow),
            "flow": flow.seal(box_of(request)),
            "declinable": flow.purpose == AUTHORIZE,
            "min_length": MIN_PASSWORD_LENGTH,
            **context,
        },
        status_code=status,
    )
    return allow_redirect_to_app(response, flow)


def _signed_in_here(request: Request, flow: Flow, started: StartedSession) -> Response:
    response = RedirectResponse(flow_url(request, "web.connect", flow), status_code=303)
    set_session_cookie(request, response, started)
    return response


@router.post("/connect/sign-in", name="web.connect_sign_in", dependencies=[Depends(csrf_protect)])
def connect_sign_in(request: Request, flow: Text, email: Text, password: Text) -> Response:
    current = open_flow(request, flow)
    now = now_of(request)
    client = client_of(request)
    with transaction(request) as session:
        outcome = verify_password_sign_in(
            session,
            sign_in_limits(request),
            application_id=current.application_id,
            email=email,
            password=password,
            client=client,
            now=now,
        )
        started = None
        if outcome.account is not None:
            started = start_account_session(
                request,
                session,
                outcome.account,
                now=now,
                client=client,
                stage=SECOND_FACTOR if outcome.needs_second_factor else SIGNED_IN,
            )
    if started is None or outcome.account is None:
        response = who_page(
            request,
            current,
            429 if outcome.locked else 401,
            email=email,
            sign_in_error=outcome.error,
        )
        if outcome.locked is not None:
            response.headers.update(outcome.locked.headers or {})
        return response
    next_flow = bound(current, outcome.account)
    if outcome.needs_second_factor:
        response = RedirectResponse(
            flow_url(request, "web.connect_code", next_flow), status_code=303
        )
        set_session_cookie(request, response, started)
        return response
    return _signed_in_here(request, next_flow, started)


@router.get("/connect/code", name="web.connect_code")
def connect_code_page(request: Request, flow: str) -> Response:
    current = open_flow(request, flow)
    pending = pending_second_factor(request)
    if pending is None or pending.account.id != current.account_id:
        return who_page(request, dataclasses.replace(current, account_id=None))
    return render(
        request,
        "connect_code.html",
        {"title": "Two-step sign-in", "email": pending.account.email, "flow": flow},
    )


@router.post("/connect/code", dependencies=[Depends(csrf_protect)])
def connect_code(request: Request, flow: Text, code: Text) -> Response:
    current = open_flow(request, flow)
    pending = pending_second_factor(request)
    if pending is None or pending.account.id != current.account_id:
        return who_page(request, dataclasses.replace(current, account_id=None), 401)
    started, outcome = complete_second_factor(request, pending, code)
    if started is None:
        context = {"title": "Two-step sign-in", "email": pending.account.email, "flow": flow}
        return refused_code_page(request, "connect_code.html", context, outcome)
    return _signed_in_here(request, current, started)


def _zone_or_utc(name: str) -> str:
    """The browser's zone (filled in by syncd.js) when it is a known one; the person can
    change it on Your Profile."""
    try:
        return validate_timezone(name.strip())
    except UserError:
        return "Etc/UTC"


@router.post("/connect/sign-up", name="web.connect_sign_up", dependencies=[Depends(csrf_protect)])
def connect_sign_up(
    request: Request,
    flow: Text,
    email: Text,
    password: Text,
    password_again: Text,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """A new account of the application, signed in at once."""
    current = open_flow(request, flow)
    kept = {"new_email": email, "new_name": name}
    if password != password_again:
        return who_page(
            request, current, 422, sign_up_error="The two passwords are not the same.", **kept
        )
    now = now_of(request)
    try:
        with transaction(request) as session:
            account = sign_up(
                session,
                settings_of(request).web.signup_max_per_address_per_hour,
                current.application_id,
                email,
                password,
                name=name.strip(),
                timezone=_zone_or_utc(timezone),
                client=client_of(request),
                now=now,
            )
            started = start_account_session(
                request, session, account, now=now, client=client_of(request)
            )
    except TooManyAttempts as locked:
        response = who_page(request, current, 429, sign_up_error=locked.message, **kept)
        response.headers.update(locked.headers or {})
        return response
    except ConflictError:  # its message names the other account: never show it
        taken = "That email already has an account: sign in with it above."
        return who_page(request, current, 409, sign_up_error=taken, **kept)
    except UserError as problem:
        return who_page(request, current, 422, sign_up_error=form_error(problem), **kept)
    return _signed_in_here(request, bound(current, account), started)
