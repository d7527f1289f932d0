"""The events API's test world: one application with one account holding a Google
(emulated) and a CalDAV (Radicale) profile, synced, behind a TestClient.

``world`` is a pytest fixture; the events API and conferencing tests import it (and the
helpers beside it) into their modules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from syncd.api.app import create_app
from syncd.conferencing.worker import ManagedEventWorker
from syncd.config import OAuthProviderSettings, Settings, load_settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, ManagedEvent, OutboxMessage, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import (
    create_account,
    create_application,
    find_account,
    issue_access_token,
)
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import GraphEmulator
from tests.support.radicale import CalDAVAccount

GOOGLE_CALENDAR = "alice@example.com"
GRAPH_CALENDAR = "AAMkAGraphCalendar"
#: Soon, so the event lies inside the store's expansion window (occurrences are read).
START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=10), dt.time(15, 30), tzinfo=dt.UTC)
DAY = START.date()


def at(day_offset: int, hour: int, minute: int = 0) -> str:
    """A UTC time ``day_offset`` days after START's day, as the API takes it."""
    moment = dt.datetime.combine(DAY + dt.timedelta(days=day_offset), dt.time(hour, minute))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


#: The CalDAV profile's own address (its username is not one): the ORGANIZER it writes.
CALDAV_EMAIL = "alice@caldav.example.com"
HOOK = "http://127.0.0.1:9/hook"  # allow-listed host; nothing is delivered in these tests


@dataclass
class World:
    """One application with one account holding a Google and a CalDAV profile."""

    engine: Engine
    settings: Settings
    box: SecretBox
    client: TestClient
    emulator: GoogleCalendarEmulator
    token: str
    account_id: str
    application_id: str
    google: str  # cal_ of the writable Google calendar (Meet available)
    readonly: str  # cal_ of a read-only Google calendar
    caldav: str  # cal_ of the CalDAV calendar
    graph: GraphEmulator | None = None  # with ``graph_world``: the Microsoft profile's
    microsoft: str = ""  # cal_ of its calendar

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def upsert(self, calendar_id: str, **body: Any) -> Any:
        """An upsert of ``event_body`` with ``body``'s keys changed."""
        return self.post_event(calendar_id, event_body(**body))

    def post_event(self, calendar_id: str, body: dict[str, Any]) -> Any:
        """An upsert of exactly ``body`` (``event_uid`` upserts name no ``event_id``)."""
        return self.client.post(
            f"/v1/calendars/{calendar_id}/events", headers=self.auth(), json=body
        )

    def delete(self, calendar_id: str, **body: Any) -> Any:
        return self.client.request(
            "DELETE", f"/v1/calendars/{calendar_id}/events", headers=self.auth(), json=body
        )

    def worker(self, **options: Any) -> ManagedEventWorker:
        return ManagedEventWorker(self.engine, self.settings, self.box, **options)

    def work(self) -> int:
        """One pass of the daemon's managed-event job."""
        return self.worker().run_due()

    def managed(self, event_id: str) -> ManagedEvent:
        with session_scope(self.engine) as session:
            row = session.execute(
                select(ManagedEvent).where(ManagedEvent.event_id == event_id)
            ).scalar_one()
            return row

    def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        with session_scope(self.engine) as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind:
                query = query.where(OutboxMessage.kind == kind)
            return list(session.execute(query).scalars())

    def google_event(self, event_id: str) -> dict[str, Any]:
        provider_id = self.managed(event_id).provider_event_id
        assert provider_id is not None
        return self.emulator.event(GOOGLE_CALENDAR, provider_id)

    def read_events(self, **params: Any) -> Any:
        query = {
            "tzid": "Etc/UTC",
            "from": (DAY - dt.timedelta(days=5)).isoformat(),
            "to": (DAY + dt.timedelta(days=25)).isoformat(),
        } | params
        return self.client.get("/v1/events", headers=self.auth(), params=query)


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "board-meeting",
        "summary": "Board meeting",
        "description": "Discuss plans for the next quarter.",
        "start": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (START + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tzid": "Etc/UTC",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def subscribed(*interactions: str, uri: str = HOOK) -> list[dict[str, Any]]:
    kinds = interactions or ("conferencing_assigned", "conferencing_failing")
    return [{"type": "webhook", "uri": uri, "interactions": [{"type": k} for k in kinds]}]


def make_settings(database_url: str, secret_key: str, emulator: GoogleCalendarEmulator) -> Settings:
    return load_settings(
        database_url=database_url,
        secret_keys=[secret_key],
        webhook_allowed_hosts=["127.0.0.1"],
        google={
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "api_base_url": emulator.base_url,
            "token_url": emulator.token_url,
            "authorize_url": emulator.authorize_url,
        },
    )


@pytest.fixture
def world(
    engine: Engine,
    database_url: str,
    secret_key: str,
    box: SecretBox,
    google_emulator: GoogleCalendarEmulator,
    caldav_account: CalDAVAccount,
) -> Iterator[World]:
    google_emulator.add_calendar(GOOGLE_CALENDAR, primary=True)
    google_emulator.add_calendar("board@group.calendar.google.com", access_role="reader")
    settings = make_settings(database_url, secret_key, google_emulator)
    with session_scope(engine) as session:
        application = create_application(session, box, "events-app").application
        account = create_account(session, application.id, "alice@example.com", "Alice")
        token = issue_access_token(session, account.id)
        google = create_profile(
            session, box, account, "google", GOOGLE_CALENDAR, google_emulator.issue_grant()
        )
        caldav_credentials = dict(caldav_account.credentials, email=CALDAV_EMAIL)
        caldav = create_profile(
            session, box, account, "caldav", caldav_account.user, caldav_credentials
        )
        profile_ids = [google.id, caldav.id]
        account_id, application_id = account.id, application.id
    context = SyncContext(engine, settings, box, worker_id="test")
    for profile_id in profile_ids:
        assert sync_profile(context, profile_id).outcome == "ok"
    with session_scope(engine) as session:
        by_remote = {
            c.provider_calendar_id: c.id for c in session.execute(select(Calendar)).scalars()
        }
    caldav_id = next(cid for remote, cid in by_remote.items() if remote.endswith("/work/"))
    app = create_app(settings, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(
            engine=engine,
            settings=settings,
            box=box,
            client=client,
            emulator=google_emulator,
            token=token,
            account_id=account_id,
            application_id=application_id,
            google=by_remote[GOOGLE_CALENDAR],
            readonly=by_remote["board@group.calendar.google.com"],
            caldav=caldav_id,
        )


def set_default_conferencing(world: World, profile_id: str | None) -> None:
    with session_scope(world.engine) as session:
        account = find_account(session, world.account_id)
        account.default_conferencing_profile_id = profile_id
        session.add(account)


@pytest.fixture
def graph_world(world: World, graph_emulator: GraphEmulator) -> World:
    """``world`` plus a Microsoft profile (the Graph emulator) with one calendar."""
    graph_emulator.add_calendar(GRAPH_CALENDAR, name="Calendar", default=True)
    section = {
        "client_id": graph_emulator.client_id,
        "client_secret": graph_emulator.client_secret,
        "api_base_url": graph_emulator.api_base_url,
        "token_url": graph_emulator.token_url,
        "authorize_url": graph_emulator.authorize_url,
    }
    settings = world.settings.model_copy(update={"microsoft": OAuthProviderSettings(**section)})
    with session_scope(world.engine) as session:
        account = find_account(session, world.account_id)
        profile = create_profile(
            session, world.box, account, "microsoft", "alice", graph_emulator.issue_grant()
        )
        profile_id = profile.id
    world.client.app.state.settings = settings  # type: ignore[attr-defined]
    context = SyncContext(world.engine, settings, world.box, worker_id="test")
    assert sync_profile(context, profile_id).outcome == "ok"
    with session_scope(world.engine) as session:
        calendar = session.execute(
            select(Calendar).where(Calendar.provider_calendar_id == GRAPH_CALENDAR)
        ).scalar_one()
        calendar_id = calendar.id
    return dataclasses.replace(
        world, settings=settings, graph=graph_emulator, microsoft=calendar_id
    )


def sync_all(world: World) -> None:
    """One sync run of every profile (what the daemon does next)."""
    with session_scope(world.engine) as session:
        profile_ids = [profile.id for profile in session.execute(select(Profile)).scalars()]
    context = SyncContext(world.engine, world.settings, world.box, worker_id="test")
    for profile_id in profile_ids:
        assert sync_profile(context, profile_id).outcome == "ok"


def field_keys(response: Any) -> dict[str, str]:
    """A 422's first error key per field (Cronofy's ``{"errors": {field: [{key}]}}``)."""
    assert response.status_code == 422, response.text
    return {field: entries[0]["key"] for field, entries in response.json()["errors"].items()}
