"""Per-request access to what ``create_app`` put on the app: database, settings, clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session

from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import read_only, session_scope


def db_session(request: Request) -> Iterator[Session]:
    """A read-only transaction per request (on SQLite it never waits for writers)."""
    engine: Engine = request.app.state.engine
    with session_scope(read_only(engine)) as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """A writing transaction, committed when the handler returns, rolled back if it fails.

    Always taken with ``Depends(write_session, scope="function")``: FastAPI's default
    ends a yield dependency after the response is sent, which would answer 202 before the
    commit (a failed commit then looks like success, and a read right after the answer
    may not see the write)."""
    engine: Engine = request.app.state.engine
    with session_scope(engine) as session:
        yield session


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now(request: Request) -> dt.datetime:
    """The current time; tests replace ``app.state.clock`` to check staleness rules."""
    clock: Callable[[], dt.datetime] = request.app.state.clock
    return clock()


def app_box(request: Request) -> SecretBox:
    """The key ring credentials at rest are encrypted with."""
    box: SecretBox = request.app.state.box
    return box
