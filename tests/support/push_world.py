"""Shared set-up for the push tests: emulator-backed settings, profiles, polling helpers."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.base import CalendarProvider
from syncd.config import OAuthProviderSettings, Settings
from syncd.ids import new_id
from syncd.registry import build_provider
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Event, Profile, PushChannel
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import GraphEmulator

#: The far-future poll interval that proves a change arrived by push, not by polling.
NEVER = 86400.0


def emulated_settings(
    base: Settings,
    google: GoogleCalendarEmulator | None = None,
    graph: GraphEmulator | None = None,
    **overrides: Any,
) -> Settings:
    """``base`` with the providers pointed at the emulators (and any other overrides)."""
    update: dict[str, Any] = {"http_timeout": 5.0, **overrides}
    if google is not None:
        update["google"] = OAuthProviderSettings(
            client_id=google.client_id,
            client_secret=google.client_secret,
            api_base_url=google.base_url,
            token_url=google.token_url,
            authorize_url=google.authorize_url,
        )
    if graph is not None:
        update["microsoft"] = OAuthProviderSettings(
            client_id=graph.client_id,
            client_secret=graph.client_secret,
            api_base_url=graph.api_base_url,
            token_url=graph.token_url,
            authorize_url=graph.authorize_url,
        )
    return base.model_copy(update=update)


def fast_provider(settings: Settings, name: str, credentials: dict[str, Any]) -> CalendarProvider:
    """The real adapter with retries shrunk, so fault paths stay quick."""
    provider = build_provider(settings, name, credentials)
    provider.retry_initial_wait = 0.01  # type: ignore[attr-defined]
    provider.retry_max_wait = 0.05  # type: ignore[attr-defined]
    return provider


def sync_context(engine: Engine, settings: Settings, box: SecretBox) -> SyncContext:
    return SyncContext(engine, settings, box, worker_id="test", provider_factory=fast_provider)


def add_profile(
    engine: Engine, box: SecretBox, provider: str, email: str, credentials: dict[str, Any]
) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, new_id("app")).application
        account = create_account(session, application.id, email, timezone="Europe/London")
        return create_profile(session, box, account, provider, email, credentials).id


def channels_of(engine: Engine, profile_id: str | None = None) -> list[PushChannel]:
    with Session(engine) as session:
        query = select(PushChannel)
        if profile_id is not None:
            query = query.where(PushChannel.profile_id == profile_id)
        return list(session.execute(query).scalars())


def profile_row(engine: Engine, profile_id: str) -> Profile:
    with Session(engine, expire_on_commit=False) as session:
        profile = session.get(Profile, profile_id)
        assert profile is not None
        return profile


def make_due_later(engine: Engine, profile_id: str, seconds: float = NEVER) -> None:
    """Push the profile's next poll far away, so only a push can make it due."""
    with session_scope(engine) as session:
        profile = session.get(Profile, profile_id)
        assert profile is not None
        profile.next_due_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        session.add(profile)


def is_due_now(engine: Engine, profile_id: str) -> bool:
    due = profile_row(engine, profile_id).next_due_at
    return due is not None and due <= dt.datetime.now(dt.UTC)


def stored_event_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.execute(select(Event.provider_event_id)).scalars())


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.02) -> float:
    """Seconds until ``predicate()`` held; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started
