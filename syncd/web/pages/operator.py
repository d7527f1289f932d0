"""The operator view: what ``syncd status`` says, plus every account and profile by the
status callers see (disconnected first, with the reason, the last success and the same
reconnect link ``profile_relink_url`` carries), behind the operator's own password
(``syncd operator set-password``).

It reads with ``syncd.sync.fleet_summary`` (the CLI's own summary) and
``syncd.sync.overview``; it changes nothing but its own session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from syncd.cronofy.links import profile_relink_url
from syncd.errors import TooManyAttempts
from syncd.identity.operator import (
    operator_password_set,
    verify_operator_sign_in,
)
from syncd.identity.sessions import end_session, find_session, start_session
from syncd.store.models import WebSession
from syncd.sync.fleet_summary import fleet_summary
from syncd.sync.overview import STATUS_ORDER, fleet_overview
from syncd.web.auth import (
    clear_session_cookie,
    operator_signed_in,
    safe_next,
    session_cookie_name,
    set_session_cookie,
)
from syncd.web.context import (
    client_of,
    now_of,
    page_path,
    reading,
    render,
    server_base_url,
    session_policy,
    settings_of,
    sign_in_limits,
    transaction,
)
from syncd.web.csrf import csrf_protect

router = APIRouter()
Operator = Annotated[WebSession, Depends(operator_signed_in)]

#: Status words for people, beside the API's value.
HEADINGS = {
    "disconnected": "Disconnected: the person must reconnect",
    "pending": "Pending: first sync running, or data stale",
    "active": "Active: synced within the staleness bound",
}


@router.get("/operator", name="web.operator")
def operator_page(request: Request, operator: Operator) -> Response:
    settings = settings_of(request)
    engine: Engine = request.app.state.engine
    summary = fleet_summary(engine, settings)
    with reading(request) as session:
        overview = fleet_overview(session, now_of(request), settings.staleness_bound)
    base = server_base_url(request)
    return render(
        request,
        "operator.html",
        {
            "title": "Operator view",
            "summary": summary,
            "overview": overview,
            "statuses": STATUS_ORDER,
            "headings": HEADINGS,
            "relink_url": lambda profile_id: profile_relink_url(base, profile_id),
        },
    )


@router.get("/operator/sign-in", name="web.operator_sign_in")
def operator_sign_in_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    with reading(request) as session:
        configured = operator_password_set(session)
    return _sign_in_form(request, configured, safe_next(request, next))


@router.post("/operator/sign-in", dependencies=[Depends(csrf_protect)])
def operator_sign_in(
    request: Request,
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",  # noqa: A002
) -> Response:
    now = now_of(request)
    client = client_of(request)
    limits = sign_in_limits(request)
    with transaction(request) as session:
        configured = operator_password_set(session)
        error = verify_operator_sign_in(session, limits, password, client, now)
        started = None
        if error is None:
            token = request.cookies.get(session_cookie_name(settings_of(request)))
            previous = find_session(session, token, now, session_policy(request))
            started = start_session(
                session,
                kind="operator",
                now=now,
                policy=session_policy(request),
                client=client,
                replaces=previous,
            )
    if started is None:
        back_to = safe_next(request, next)
        if isinstance(error, TooManyAttempts):
            response = _sign_in_form(request, configured, back_to, error.message, 429)
            response.headers.update(error.headers or {})  # Retry-After
            return response
        return _sign_in_form(request, configured, back_to, error, 401)
    target = safe_next(request, next) or page_path(request, "web.operator")
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(request, redirect, started)
    return redirect


@router.post(
    "/operator/sign-out", name="web.operator_sign_out", dependencies=[Depends(csrf_protect)]
)
def operator_sign_out(request: Request, operator: Operator) -> Response:
    with transaction(request) as session:
        end_session(session, session.merge(operator), now_of(request))
    response = RedirectResponse(page_path(request, "web.operator_sign_in"), status_code=303)
    clear_session_cookie(request, response)
    return response


def _sign_in_form(
    request: Request,
    configured: bool,
    next_path: str | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "operator_sign_in.html",
        {
            "title": "Operator sign-in",
            "configured": configured,
            "next": next_path,
            "error": error,
        },
        status_code=status,
    )
