"""Who is signed in: the session cookie, and the dependencies pages use.

- ``Depends(signed_in)`` gives a handler the :class:`SignedIn` account and session, or
  sends the browser to the sign-in page with a safe ``next`` (its own path);
- ``Depends(operator_signed_in)`` does the same for the operator view.

``next`` is only ever a path under the pages' prefix (:func:`safe_next`), so a link
cannot make the sign-in page redirect anywhere else (no open redirect).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlmodel import Session

from syncd.config import Settings
from syncd.errors import UserError
from syncd.identity.sessions import (
    SECOND_FACTOR,
    SIGNED_IN,
    ClientInfo,
    StartedSession,
    find_session,
    start_session,
    touch_session,
)
from syncd.identity.signin import SignInOutcome, verify_second_factor
from syncd.store.models import Account, WebSession
from syncd.web.context import (
    box_of,
    client_of,
    now_of,
    render,
    session_policy,
    settings_of,
    sign_in_limits,
    transaction,
)

#: Remembers which application's sign-in page the browser used (not a secret).
APP_COOKIE = "syncd_app"


@dataclass(frozen=True)
class SignedIn:
    """The signed-in person of a request: their account and their session."""

    account: Account
    session: WebSession


class SignInRequired(UserError):
    """Not signed in (or the session ended): the pages answer with a redirect to the
    sign-in page (``location``), htmx requests with ``HX-Redirect``."""

    code = "sign_in_required"
    http_status = 303

    def __init__(self, location: str) -> None:
        super().__init__("sign in first", headers={"Location": location})
        self.location = location


def session_cookie_name(settings: Settings) -> str:
    return "__Host-syncd_session" if settings.web.cookie_secure else "syncd_session"


def set_session_cookie(request: Request, response: Response, started: StartedSession) -> None:
    """Hand the browser its new session (HttpOnly, SameSite=Lax, Secure unless configured
    off for http development), and remember the application for the next sign-in."""
    settings = settings_of(request)
    common = {
        "httponly": True,
        "secure": settings.web.cookie_secure,
        "samesite": "lax",
        "path": "/",
    }
    max_age = int((started.row.expires_at - started.row.created_at).total_seconds())
    response.set_cookie(
        session_cookie_name(settings),
        started.token,
        max_age=max_age,
        **common,  # type: ignore[arg-type]
    )
    if started.row.application_id:
        response.set_cookie(
            APP_COOKIE,
            started.row.application_id,
            max_age=400 * 86400,
            **common,  # type: ignore[arg-type]
        )


def clear_session_cookie(request: Request, response: Response) -> None:
    settings = settings_of(request)
    response.delete_cookie(
        session_cookie_name(settings),
        path="/",
        secure=settings.web.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def current_session(
    request: Request, session: Session, stage: str = SIGNED_IN
) -> WebSession | None:
    """The request's live session at ``stage`` (touched), else None."""
    token = request.cookies.get(session_cookie_name(settings_of(request)))
    now = now_of(request)
    row = find_session(session, token, now, session_policy(request))
    if row is None or row.stage != stage:
        return None
    touch_session(session, row, now)
    return row


def safe_next(request: Request, value: str | None) -> str | None:
    """``value`` if it is a path of these pages (``/my/…``), else None: never another
    host, scheme, or a ``//host`` or ``\\`` trick."""
    prefix = settings_of(request).web.prefix
    if not value or len(value) > 2000:
        return None
    if not value.startswith(prefix + "/") and value != prefix:
        return None
    if "//" in value or "\\" in value or any(ord(ch) < 32 for ch in value):
        return None
    return value


def sign_in_location(request: Request, application_id: str | None = None) -> str:
    """The sign-in page, coming back here afterwards."""
    params: dict[str, str] = {}
    application_id = application_id or request.cookies.get(APP_COOKIE)
    if application_id:
        params["app"] = application_id
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method == "GET" and safe_next(request, here):
        params["next"] = here
    path = str(request.app.url_path_for("web.sign_in"))
    return f"{path}?{urlencode(params)}" if params else path


def signed_in(request: Request) -> SignedIn:
    """The dependency of every account page: the signed-in account, or a redirect to
    the sign-in page (303) that comes back here."""
    with transaction(request) as session:
        row = current_session(request, session)
        account = session.get(Account, row.account_id) if row and row.kind == "account" else None
    if row is None or account is None:
        raise SignInRequired(sign_in_location(request))
    who = SignedIn(account, row)
    request.state.signed_in = who
    return who


def pending_second_factor(request: Request) -> SignedIn | None:
    """The session between a right password and the TOTP step, if this is one."""
    with transaction(request) as session:
        row = current_session(request, session, stage=SECOND_FACTOR)
        account = session.get(Account, row.account_id) if row and row.account_id else None
    return SignedIn(account, row) if row is not None and account is not None else None


def operator_signed_in(request: Request) -> WebSession:
    """The dependency of the operator view: an operator session, or its sign-in page."""
    with transaction(request) as session:
        row = current_session(request, session)
    if row is None or row.kind != "operator":
        params = {}
        here = request.url.path
        if request.method == "GET" and safe_next(request, here):
            params["next"] = here
        path = str(request.app.url_path_for("web.operator_sign_in"))
        raise SignInRequired(f"{path}?{urlencode(params)}" if params else path)
    return row


def start_account_session(
    request: Request,
    session: Session,
    account: Account,
    *,
    now: dt.datetime,
    client: ClientInfo,
    stage: str = SIGNED_IN,
) -> StartedSession:
    """A new session for ``account`` that replaces the browser's current one, if any
    (rotation at sign-in: a session id known before signing in is worthless after)."""
    previous = find_session(
        session,
        request.cookies.get(session_cookie_name(settings_of(request))),
        now,
        session_policy(request),
    )
    return start_session(
        session,
        kind="account",
        now=now,
        policy=session_policy(request),
        client=client,
        account=account,
        stage=stage,
        replaces=previous,
    )


def complete_second_factor(
    request: Request, pending: SignedIn, code: str
) -> tuple[StartedSession | None, SignInOutcome]:
    """The TOTP (or recovery code) step of a pending sign-in, wherever it is asked (the
    sign-in page, the authorization flow): the new session when the code is right, else
    None and the outcome saying why."""
    now = now_of(request)
    client = client_of(request)
    with transaction(request) as session:
        outcome = verify_second_factor(
            session,
            box_of(request),
            sign_in_limits(request),
            account=pending.account,
            code=code,
            client=client,
            now=now,
        )
        started = None
        if outcome.ok:
            started = start_session(
                session,
                kind="account",
                now=now,
                policy=session_policy(request),
                client=client,
                account=pending.account,
                replaces=pending.session,
            )
    return started, outcome


def refused_code_page(
    request: Request, template: str, context: dict[str, Any], outcome: SignInOutcome
) -> Response:
    """The code step again with the outcome's error: 401, or 429 with ``Retry-After``
    while locked."""
    response = render(
        request,
        template,
        {**context, "error": outcome.error},
        status_code=429 if outcome.locked else 401,
    )
    if outcome.locked is not None:
        response.headers.update(outcome.locked.headers or {})
    return response
