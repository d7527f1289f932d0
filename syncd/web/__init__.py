"""The hosted pages: sign-in, Your Profile and the operator view, server-rendered with
Jinja2 and htmx (a static file), served by the API's own FastAPI app under
``[web] prefix`` (docs/web.md says how to add a page).

Pages parse the form, call one function of ``syncd.identity`` (or another core
package) and render a template; they hold no SQL and no business logic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from syncd.config import Settings
from syncd.web.errors import html_error_response
from syncd.web.headers import PageHeaders
from syncd.web.pages import (
    authorize,
    booking,
    calendars,
    conferencing,
    connect,
    extension_tokens,
    operator,
    profile,
    scheduling_links,
    security,
    signin,
    working_hours,
)

STATIC_DIR = Path(__file__).parent / "static"

#: The page routers, each mounted under the prefix. A new page module adds its router here.
ROUTERS = (
    signin.router,
    profile.router,
    security.router,
    conferencing.router,
    working_hours.router,
    scheduling_links.router,
    extension_tokens.router,
    booking.router,
    operator.router,
)
#: The hosted flow and Calendar Services (the authorization pages, docs/web.md).
FLOW_ROUTERS = (authorize.router, connect.router, calendars.router)
#: Pages at the server's root, where Cronofy's SDKs send people (``/oauth/authorize``).
ROOT_ROUTERS = (authorize.root_router,)


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the pages, their static files, their headers and their HTML errors on ``app``."""
    prefix = settings.web.prefix
    app.state.web_clock = lambda: dt.datetime.now(dt.UTC)
    app.state.html_errors = html_error_response
    for router in ROUTERS + FLOW_ROUTERS:
        app.include_router(router, prefix=prefix, include_in_schema=False)
    for router in ROOT_ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount(f"{prefix}/static", StaticFiles(directory=STATIC_DIR), name="web.static")
    app.add_middleware(PageHeaders, prefix=prefix)
