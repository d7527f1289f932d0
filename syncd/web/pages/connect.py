"""Choosing and connecting a calendar service, for all three purposes of the flow
(``authorize``: an application's ``/oauth/authorize``; ``add``: Calendar Services' "add
another"; ``relink``: reconnecting one profile): the list of services, a CalDAV
credentials form checked live, a provider's OAuth round trip, and the end of the flow.

The pages parse and render; :mod:`syncd.authorization.connecting` does the work.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.authorization import connecting
from syncd.authorization.flow import ADD, AUTHORIZE, RELINK, Flow, declined, scope_words
from syncd.errors import AuthorizationError, UserError
from syncd.store.models import Account
from syncd.web.context import (
    absolute_page_url,
    box_of,
    page_path,
    render,
    settings_of,
)
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error
from syncd.web.pages.authorize import (
    allow_redirect_to_app,
    application_name,
    bound,
    flow_account,
    flow_url,
    open_flow,
    who_page,
)

router = APIRouter()
Text = Annotated[str, Form()]
Optional = Annotated[str, Form()]

#: Where each purpose lands on the person's own pages (Calendar Services' notices).
_DONE = {ADD: "added", RELINK: "reconnected"}


def _account(request: Request, flow: Flow) -> Account:
    account = flow_account(request, flow)
    if account is None:
        raise AuthorizationError("sign in as the person this link is for, then try again")
    return account


def _callback(request: Request) -> str:
    """The redirect URI the providers send people back to (register it there)."""
    return absolute_page_url(request, "web.connect_callback")


def _finished(request: Request, flow: Flow, account: Account, profile_id: str | None) -> Response:
    """The end of the flow: back to the application with a code, or to Calendar Services."""
    engine = request.app.state.engine
    location = connecting.destination(engine, flow, account, profile_id)
    if location is None:
        location = page_path(request, "web.calendars") + f"?done={_DONE.get(flow.purpose, ADD)}"
    return RedirectResponse(location, status_code=303)


@router.get("/connect", name="web.connect")
def choose_service(request: Request, flow: str) -> Response:
    """Which calendar service to connect (relink: straight to that profile's own)."""
    current = open_flow(request, flow)
    account = flow_account(request, current)
    if account is None:
        if current.purpose != AUTHORIZE:
            raise AuthorizationError("sign in as the person this link is for, then try again")
        return who_page(request, current)
    return _chooser(request, bound(current, account), account)


def _chooser(
    request: Request, current: Flow, account: Account, problem: str = "", status: int = 200
) -> Response:
    if current.purpose == RELINK:
        chosen, _ = connecting.relink_service(request.app.state.engine, box_of(request), current)
        return _start(request, current, account, chosen, problem)
    services = connecting.offered_services(settings_of(request), current.provider_hint)
    context = {
        "title": "Connect your calendar",
        "application_name": application_name(request, current),
        "scope_words": scope_words(current.scope) if current.purpose == AUTHORIZE else [],
        "services": services,
        "links": {
            entry.key: flow_url(
                request,
                "web.connect_oauth" if entry.uses_oauth else "web.connect_caldav",
                current,
                service=entry.key,
            )
            for entry in services
        },
        "flow": current.seal(box_of(request)),
        "authorizing": current.purpose == AUTHORIZE,
        "has_profiles": connecting.account_has_profiles(request.app.state.engine, account.id),
        "account": account,
        "problem": problem,
    }
    response = render(request, "connect.html", context, status_code=status)
    return allow_redirect_to_app(response, current)


def _start(
    request: Request, flow: Flow, account: Account, chosen: connecting.Service, problem: str
) -> Response:
    if chosen.uses_oauth and not problem:
        return _to_provider(request, flow, account, chosen)
    if chosen.uses_oauth:
        return render(
            request,
            "connect_error.html",
            {"title": f"{chosen.label} was not connected", "message": problem},
            status_code=400,
        )
    return _caldav_form(request, flow, chosen)


def _to_provider(
    request: Request, flow: Flow, account: Account, chosen: connecting.Service
) -> Response:
    url = connecting.begin_oauth(
        settings_of(request), box_of(request), flow, account, chosen, _callback(request)
    )
    return RedirectResponse(url, status_code=303)


@router.get("/connect/oauth/{service}", name="web.connect_oauth")
def connect_oauth(request: Request, flow: str, service: str) -> Response:
    """Off to the provider's consent page (a link: the pages' ``form-action 'self'``
    would stop a form's redirect to another site)."""
    current = open_flow(request, flow)
    return _to_provider(request, current, _account(request, current), connecting.service(service))


@router.get("/connect/callback", name="web.connect_callback")
def provider_callback(
    request: Request, state: str = "", code: str = "", error: str = ""
) -> Response:
    """Where Google or Microsoft send the person back, ``state`` being the flow."""
    current = open_flow(request, state)
    account = _account(request, current)
    chosen = connecting.service(current.service)
    plain = dataclasses.replace(current, service="")
    if error or not code:
        why = error.replace("_", " ")[:80] or "no code came back"
        problem = f"{chosen.label} was not connected ({why}). You can try again."
        return _chooser(request, plain, account, problem, 400)
    try:
        profile = connecting.finish_oauth(
            request.app.state.engine,
            settings_of(request),
            box_of(request),
            current,
            account,
            code,
            _callback(request),
        )
    except UserError as failure:
        return _chooser(request, plain, account, form_error(failure), 400)
    return _finished(request, plain, account, profile.id)


def _caldav_form(
    request: Request,
    flow: Flow,
    chosen: connecting.Service,
    status: int = 200,
    **context: object,
) -> Response:
    known: dict[str, str] = {}
    title = f"Connect {chosen.label}"
    if flow.purpose == RELINK:
        engine = request.app.state.engine
        _, known = connecting.relink_service(engine, box_of(request), flow)
        title = f"Reconnect {connecting.relinked_profile(engine, flow).name}"
    values = {
        "title": title,
        "service": chosen,
        "flow": flow.seal(box_of(request)),
        "server_url": known.get("url", ""),
        "username": known.get("username", ""),
        "relinking": flow.purpose == RELINK,
        "back": flow_url(request, "web.connect", flow) if flow.purpose != RELINK else None,
        **context,
    }
    response = render(request, "connect_caldav.html", values, status_code=status)
    return allow_redirect_to_app(response, flow)


@router.get("/connect/caldav/{service}", name="web.connect_caldav")
def caldav_page(request: Request, flow: str, service: str) -> Response:
    current = open_flow(request, flow)
    _account(request, current)
    return _caldav_form(request, current, connecting.service(service))


@router.post("/connect/caldav/{service}", dependencies=[Depends(csrf_protect)])
def caldav_connect(
    request: Request,
    service: str,
    flow: Text,
    username: Text,
    password: Text,
    url: Optional = "",
) -> Response:
    """Checked against the server before anything is saved."""
    current = open_flow(request, flow)
    account = _account(request, current)
    chosen = connecting.service(service)
    try:
        profile = connecting.connect_caldav(
            request.app.state.engine,
            settings_of(request),
            box_of(request),
            current,
            account,
            chosen,
            url,
            username,
            password,
        )
    except UserError as problem:
        return _caldav_form(
            request,
            current,
            chosen,
            422,
            server_url=url,
            username=username,
            error=form_error(problem),
        )
    return _finished(request, current, account, profile.id)


@router.post("/connect/decline", name="web.connect_decline", dependencies=[Depends(csrf_protect)])
def decline(request: Request, flow: Text) -> Response:
    """The person said no: ``error=access_denied`` (and ``state``) to the application."""
    current = open_flow(request, flow)
    if current.purpose != AUTHORIZE:
        return RedirectResponse(page_path(request, "web.calendars"), status_code=303)
    return RedirectResponse(declined(current), status_code=303)


@router.post("/connect/allow", name="web.connect_allow", dependencies=[Depends(csrf_protect)])
def allow(request: Request, flow: Text) -> Response:
    """Agree with the calendar services already connected (no new one)."""
    current = open_flow(request, flow)
    account = _account(request, current)
    if current.purpose != AUTHORIZE:
        return RedirectResponse(page_path(request, "web.calendars"), status_code=303)
    return _finished(request, current, account, None)
