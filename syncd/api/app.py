"""``create_app``: the FastAPI application serving the Cronofy-compatible ``/v1`` API."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from syncd.api.errors import install_error_handlers
from syncd.api.limits import RequestLimits
from syncd.api.routes import (
    account,
    availability,
    availability_rules,
    batch,
    calendars,
    event_actions,
    free_busy,
    health,
    oauth,
    personalized_links,
    profiles,
    real_time_scheduling,
    userinfo,
)
from syncd.api.routes import channels as channels_route
from syncd.api.routes import conferencing as conferencing_route
from syncd.api.routes import events as events_route
from syncd.api.routes import metrics as metrics_route
from syncd.api.routes import push as push_route
from syncd.config import Settings
from syncd.registry import load_adapters
from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine
from syncd.web import install as install_pages

API_DESCRIPTION = """\
A Cronofy-compatible calendar API served by syncd.

Authenticate with `Authorization: Bearer <API key>` for application-level calls
(availability) or `Authorization: Bearer <account access token>` for an account's own
calls (calendars, profiles, userinfo, free/busy). Validation errors are 422 with
`{"errors": {"<field>": [{"key": "errors.…", "description": "…"}]}}`.
"""


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The API app. Without ``engine``, one is built from ``settings.database_url`` and
    disposed of when the app shuts down; a given engine stays the caller's."""
    owns_engine = engine is None
    database = engine if engine is not None else make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        load_adapters()
        yield
        if owns_engine:
            database.dispose()

    app = FastAPI(
        title="syncd",
        version="1",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = database
    app.state.box = SecretBox(settings.secret_keys)
    app.state.clock = lambda: dt.datetime.now(dt.UTC)
    app.state.free_busy_page_size = free_busy.FREE_BUSY_PAGE_SIZE
    install_error_handlers(app)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        max_json_array_length=settings.max_json_array_length,
    )
    app.include_router(events_route.router)
    app.include_router(event_actions.router)
    app.include_router(batch.router)
    app.include_router(conferencing_route.router)
    for module in (
        availability,
        availability_rules,
        free_busy,
        calendars,
        channels_route,
        profiles,
        real_time_scheduling,
        personalized_links,
        userinfo,
        account,
        health,
        oauth,
    ):
        app.include_router(module.router)
    metrics_route.install(app)
    app.include_router(push_route.router)  # provider callbacks, outside /v1
    install_pages(app, settings)  # the hosted pages, under settings.web.prefix
    return app
