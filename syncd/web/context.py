"""What a page handler reaches through the request: settings, the store, the clock, the
client, and :func:`render` (a template with the page's common context).

Pages hold no SQL: they open a transaction with :func:`transaction` and hand the
session to one function of ``syncd.identity`` (or another core package).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.routing import NoMatchFound

from syncd.config import Settings
from syncd.identity.sessions import ClientInfo, SessionPolicy
from syncd.identity.signin import SignInLimits
from syncd.store.crypto import SecretBox
from syncd.store.db import read_only, session_scope
from syncd.web.csrf import FIELD as CSRF_FIELD
from syncd.web.csrf import csrf_token, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

#: The account pages' navigation, in order: (route name, label). A page adds itself here
#: (docs/web.md); names without a route yet are left out.
NAV_ITEMS: list[tuple[str, str]] = [
    ("web.home", "Your Profile"),
    ("web.calendars", "Calendar Services"),
    ("web.conferencing", "Conferencing Services"),
    ("web.working_hours", "Working hours"),
    ("web.scheduling_links", "Scheduling links"),
    ("web.extension_tokens", "Extension tokens"),
    ("web.security", "Account Security"),
]


def _nav(request: Request) -> list[tuple[str, str]]:
    return [(name, label) for name, label in NAV_ITEMS if _has_route(request, name)]


def _has_route(request: Request, name: str) -> bool:
    try:
        request.app.url_path_for(name)
    except NoMatchFound:
        return False
    return True


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def box_of(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def now_of(request: Request) -> dt.datetime:
    """The app's clock (tests may replace ``app.state.web_clock``; the API's own clock is
    frozen in some tests, so the pages keep their own)."""
    clock: Callable[[], dt.datetime] = request.app.state.web_clock
    return clock()


def client_of(request: Request) -> ClientInfo:
    """The peer address (uvicorn applies ``X-Forwarded-For`` only from trusted proxies)."""
    address = request.client.host if request.client else ""
    return ClientInfo(address=address, user_agent=request.headers.get("user-agent", ""))


def session_policy(request: Request) -> SessionPolicy:
    web = settings_of(request).web
    return SessionPolicy(
        idle=dt.timedelta(minutes=web.session_idle_minutes),
        absolute=dt.timedelta(hours=web.session_absolute_hours),
    )


def sign_in_limits(request: Request) -> SignInLimits:
    web = settings_of(request).web
    return SignInLimits(
        max_per_account=web.signin_max_failures_per_account,
        max_per_address=web.signin_max_failures_per_address,
        window=dt.timedelta(minutes=web.signin_window_minutes),
    )


@contextmanager
def transaction(request: Request) -> Iterator[Session]:
    """One writing transaction: committed when the block ends, rolled back if it raises."""
    engine: Engine = request.app.state.engine
    with session_scope(engine) as session:
        yield session


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with session_scope(read_only(engine)) as session:
        yield session


def server_base_url(request: Request) -> str:
    """Where this server is reached (``public_base_url``, else the request's own): the
    API's callbacks, e.g. the conferencing one, live there."""
    return (settings_of(request).public_base_url or str(request.base_url)).rstrip("/")


def absolute_page_url(request: Request, name: str, **path_params: Any) -> str:
    """A page's absolute URL, for providers and applications to send people back to."""
    web = settings_of(request).web
    base = (web.public_base_url or server_base_url(request)).rstrip("/")
    return base + page_path(request, name, **path_params)


def page_path(request: Request, name: str, **path_params: Any) -> str:
    """The path of the page route named ``name`` (prefix included)."""
    return str(request.app.url_path_for(name, **path_params))


def local_time(request: Request, moment: dt.datetime | None) -> str:
    """A time as the signed-in person reads it: their zone and 12/24-hour clock."""
    if moment is None:
        return "never"
    who = getattr(request.state, "signed_in", None)
    zone_name = who.account.timezone if who is not None else "Etc/UTC"
    try:
        zone: dt.tzinfo = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    local = moment.astimezone(zone)
    twelve = who is not None and who.account.time_format == "12h"
    clock = local.strftime("%I:%M %p").lstrip("0").lower() if twelve else local.strftime("%H:%M")
    return f"{local.strftime('%a %d %b %Y')}, {clock} ({local.tzname()})"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page: ``template`` with ``context`` plus what every page uses (``csrf_token``,
    ``url``, ``signed_in``, ``title``). The CSRF cookie is set here when it is new."""
    token = csrf_token(request)
    values: dict[str, Any] = {
        "request": request,
        "csrf_token": token,
        "csrf_field": lambda: Markup(
            f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'
        ),
        "url": lambda name, **params: page_path(request, name, **params),
        "signed_in": getattr(request.state, "signed_in", None),
        "nav_items": _nav(request),
        "when": lambda moment: local_time(request, moment),
        "static": lambda name: page_path(request, "web.static", path=name),
    }
    values.update(context or {})
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    set_csrf_cookie(request, response)
    return response
