"""Account Security: change the password, set up TOTP (QR code + manual key, confirmed
by a first code; ten recovery codes shown once), regenerate the codes, turn TOTP off,
sign out every other session, and the recent sign-ins."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from syncd.errors import UserError
from syncd.identity.accounts import change_password
from syncd.identity.security import new_recovery_codes, security_overview, turn_off_totp
from syncd.identity.sessions import end_other_sessions
from syncd.identity.totp import TotpSetup, begin_totp_setup, confirm_totp_setup, pending_totp_setup
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import (
    box_of,
    now_of,
    page_path,
    reading,
    render,
    session_policy,
    transaction,
)
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error

router = APIRouter()
Text = Annotated[str, Form()]
Who = Annotated[SignedIn, Depends(signed_in)]
ISSUER = "syncd"

_NOTICES = {
    "password": "Your password was changed. Every other session was signed out.",
    "others": "Every other session was signed out.",
    "totp_off": "Two-step sign-in is off.",
}


def _page(request: Request, who: SignedIn, status: int = 200, **context: object) -> Response:
    with reading(request) as session:
        overview = security_overview(
            session, who.account.id, now_of(request), session_policy(request)
        )
    return render(
        request,
        "security.html",
        {
            "title": "Account Security",
            "active": "web.security",
            "overview": overview,
            "this_session_id": who.session.id,
            **context,
        },
        status_code=status,
    )


def _done(request: Request, what: str) -> Response:
    return RedirectResponse(page_path(request, "web.security") + f"?done={what}", status_code=303)


@router.get("/security", name="web.security")
def security_page(request: Request, who: Who, done: str = "") -> Response:
    return _page(request, who, notice=_NOTICES.get(done))


@router.post(
    "/security/password", name="web.security_password", dependencies=[Depends(csrf_protect)]
)
def password(
    request: Request, who: Who, current_password: Text, new_password: Text, new_password_again: Text
) -> Response:
    if new_password != new_password_again:
        return _page(request, who, 422, error="The two new passwords are not the same.")
    try:
        with transaction(request) as session:
            change_password(
                session,
                who.account.id,
                current_password,
                new_password,
                keep_session_id=who.session.id,
                now=now_of(request),
            )
    except UserError as problem:
        return _page(request, who, 422, error=form_error(problem))
    return _done(request, "password")


@router.post(
    "/security/sessions/end-others",
    name="web.security_end_others",
    dependencies=[Depends(csrf_protect)],
)
def end_others(request: Request, who: Who) -> Response:
    with transaction(request) as session:
        end_other_sessions(session, who.account.id, who.session.id, now_of(request))
    return _done(request, "others")


def _qr_svg(setup: TotpSetup) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code, drawn on the server."""
    svg = segno.make(setup.provisioning_uri, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff"
    )
    return Markup(svg)  # noqa: S704 (segno's own markup; the URI is escaped by segno)


def _setup_page(
    request: Request, who: SignedIn, setup: TotpSetup, status: int = 200, error: str | None = None
) -> Response:
    return render(
        request,
        "security_totp.html",
        {
            "title": "Set up two-step sign-in",
            "active": "web.security",
            "qr": _qr_svg(setup),
            "secret": " ".join(setup.secret[i : i + 4] for i in range(0, len(setup.secret), 4)),
            "error": error,
        },
        status_code=status,
    )


@router.post(
    "/security/totp/begin", name="web.security_totp_begin", dependencies=[Depends(csrf_protect)]
)
def totp_begin(request: Request, who: Who) -> Response:
    try:
        with transaction(request) as session:
            setup = begin_totp_setup(session, box_of(request), who.account, issuer=ISSUER)
    except UserError as problem:
        return _page(request, who, 409, error=form_error(problem))
    return _setup_page(request, who, setup)


@router.post(
    "/security/totp/confirm", name="web.security_totp_confirm", dependencies=[Depends(csrf_protect)]
)
def totp_confirm(request: Request, who: Who, code: Text) -> Response:
    try:
        with transaction(request) as session:
            codes = confirm_totp_setup(
                session, box_of(request), who.account.id, code, now_of(request)
            )
    except UserError as problem:
        with reading(request) as session:
            setup = pending_totp_setup(session, box_of(request), who.account, issuer=ISSUER)
        if setup is None:
            return _page(request, who, 409, error=form_error(problem))
        return _setup_page(request, who, setup, 422, form_error(problem))
    return _codes_page(request, codes, "Two-step sign-in is on.")


def _codes_page(request: Request, codes: list[str], notice: str) -> Response:
    return render(
        request,
        "security_codes.html",
        {
            "title": "Your recovery codes",
            "active": "web.security",
            "codes": codes,
            "notice": notice,
        },
    )


@router.post(
    "/security/recovery-codes",
    name="web.security_recovery_codes",
    dependencies=[Depends(csrf_protect)],
)
def recovery_codes(request: Request, who: Who, password: Text) -> Response:
    try:
        with transaction(request) as session:
            codes = new_recovery_codes(session, who.account.id, password, now_of(request))
    except UserError as problem:
        return _page(request, who, 422, error=form_error(problem))
    return _codes_page(request, codes, "New recovery codes: the old ones no longer work.")


@router.post(
    "/security/totp/off", name="web.security_totp_off", dependencies=[Depends(csrf_protect)]
)
def totp_off(request: Request, who: Who, password: Text) -> Response:
    try:
        with transaction(request) as session:
            turn_off_totp(session, who.account.id, password)
    except UserError as problem:
        return _page(request, who, 422, error=form_error(problem))
    return _done(request, "totp_off")
