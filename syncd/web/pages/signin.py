"""Sign in (password, then the TOTP or recovery code when the account has TOTP), sign
out, and the one-time invite link that sets a password.

Accounts belong to one application, so the sign-in page is always for one: its link
carries ``?app=app_…`` (the invite and ``syncd accounts invite`` print such links; the
OAuth authorization flow knows it from ``client_id``). One application's users never
see another's: the email is looked up within that application only.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.errors import UserError
from syncd.identity.accounts import account_for_invite, redeem_invite
from syncd.identity.passwords import MIN_PASSWORD_LENGTH
from syncd.identity.sessions import (
    SECOND_FACTOR,
    SIGNED_IN,
    end_session,
    find_session,
    start_session,
)
from syncd.identity.signin import (
    application_for_sign_in,
    verify_password_sign_in,
)
from syncd.identity.totp import totp_enabled
from syncd.web.auth import (
    APP_COOKIE,
    clear_session_cookie,
    complete_second_factor,
    pending_second_factor,
    refused_code_page,
    safe_next,
    session_cookie_name,
    set_session_cookie,
    start_account_session,
)
from syncd.web.context import (
    client_of,
    now_of,
    page_path,
    reading,
    render,
    session_policy,
    settings_of,
    sign_in_limits,
    transaction,
)
from syncd.web.csrf import csrf_protect

router = APIRouter()
Text = Annotated[str, Form()]


def _after_sign_in(request: Request, next_path: str | None) -> str:
    return safe_next(request, next_path) or page_path(request, "web.home")


@router.get("/sign-in", name="web.sign_in")
def sign_in_page(request: Request, app: str | None = None, next: str | None = None) -> Response:  # noqa: A002
    application_id = app or request.cookies.get(APP_COOKIE)
    with reading(request) as session:
        application = application_for_sign_in(session, application_id)
    return render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "application_id": application.id if application else None,
            "application_name": application.name if application else None,
            "next": safe_next(request, next),
        },
        status_code=200 if application or not app else 404,
    )


@router.post("/sign-in", dependencies=[Depends(csrf_protect)])
def sign_in(
    request: Request,
    email: Text,
    password: Text,
    app: Text,
    next: Annotated[str, Form()] = "",  # noqa: A002
) -> Response:
    now = now_of(request)
    client = client_of(request)
    with transaction(request) as session:
        application = application_for_sign_in(session, app)
        if application is None:
            outcome = None
        else:
            outcome = verify_password_sign_in(
                session,
                sign_in_limits(request),
                application_id=application.id,
                email=email,
                password=password,
                client=client,
                now=now,
            )
        started = None
        if outcome is not None and outcome.account is not None:
            started = start_account_session(
                request,
                session,
                outcome.account,
                now=now,
                client=client,
                stage=SECOND_FACTOR if outcome.needs_second_factor else SIGNED_IN,
            )
    if application is None:
        return render(request, "sign_in.html", {"title": "Sign in", "application_id": None}, 404)
    assert outcome is not None
    if started is None:
        status = 429 if outcome.locked else 401
        response = render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "application_id": application.id,
                "application_name": application.name,
                "next": safe_next(request, next),
                "email": email,
                "error": outcome.error,
            },
            status_code=status,
        )
        if outcome.locked is not None:
            response.headers.update(outcome.locked.headers or {})
        return response
    if outcome.needs_second_factor:
        target = page_path(request, "web.sign_in_code")
        if safe_next(request, next):
            target += "?" + urlencode({"next": next})
    else:
        target = _after_sign_in(request, next)
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(request, redirect, started)
    return redirect


@router.get("/sign-in/code", name="web.sign_in_code")
def sign_in_code_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    pending = pending_second_factor(request)
    if pending is None:
        return RedirectResponse(page_path(request, "web.sign_in"), status_code=303)
    return render(
        request,
        "sign_in_code.html",
        {
            "title": "Two-step sign-in",
            "email": pending.account.email,
            "next": safe_next(request, next),
        },
    )


@router.post("/sign-in/code", dependencies=[Depends(csrf_protect)])
def sign_in_code(
    request: Request,
    code: Text,
    next: Annotated[str, Form()] = "",  # noqa: A002
) -> Response:
    pending = pending_second_factor(request)
    if pending is None:
        return RedirectResponse(page_path(request, "web.sign_in"), status_code=303)
    started, outcome = complete_second_factor(request, pending, code)
    if started is None:
        context = {
            "title": "Two-step sign-in",
            "email": pending.account.email,
            "next": safe_next(request, next),
        }
        return refused_code_page(request, "sign_in_code.html", context, outcome)
    redirect = RedirectResponse(_after_sign_in(request, next), status_code=303)
    set_session_cookie(request, redirect, started)
    return redirect


@router.post("/sign-out", name="web.sign_out", dependencies=[Depends(csrf_protect)])
def sign_out(request: Request) -> Response:
    now = now_of(request)
    application_id = None
    with transaction(request) as session:
        token = request.cookies.get(session_cookie_name(settings_of(request)))
        row = find_session(session, token, now, session_policy(request))
        if row is not None:
            application_id = row.application_id
            end_session(session, row, now)
    target = page_path(request, "web.sign_in")
    if application_id:
        target += f"?app={application_id}"
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/invite/{token}", name="web.invite")
def invite_page(request: Request, token: str) -> Response:
    with reading(request) as session:
        account = account_for_invite(session, token, now_of(request))
    return render(
        request,
        "invite.html",
        {
            "title": "Choose your password",
            "token": token,
            "email": account.email if account else None,
            "min_length": MIN_PASSWORD_LENGTH,
        },
        status_code=200 if account else 404,
    )


@router.post("/invite/{token}", dependencies=[Depends(csrf_protect)])
def invite(request: Request, token: str, password: Text, password_again: Text) -> Response:
    now = now_of(request)
    error: str | None = None
    started = None
    with reading(request) as session:
        account = account_for_invite(session, token, now)
    if account is not None and password != password_again:
        error = "The two passwords are not the same."
    elif account is not None:
        try:
            with transaction(request) as session:
                redeemed = redeem_invite(session, token, password, now)
                # An account that already has TOTP still needs its code.
                stage = SECOND_FACTOR if totp_enabled(session, redeemed.id) else SIGNED_IN
                started = start_session(
                    session,
                    kind="account",
                    now=now,
                    policy=session_policy(request),
                    client=client_of(request),
                    account=redeemed,
                    stage=stage,
                )
        except UserError as problem:
            error = str(problem)
    if started is None:
        return render(
            request,
            "invite.html",
            {
                "title": "Choose your password",
                "token": token,
                "email": account.email if account else None,
                "min_length": MIN_PASSWORD_LENGTH,
                "error": error,
            },
            status_code=422 if account else 404,
        )
    home = "web.home" if started.row.stage == SIGNED_IN else "web.sign_in_code"
    response = RedirectResponse(page_path(request, home), status_code=303)
    set_session_cookie(request, response, started)
    return response
