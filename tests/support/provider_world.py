"""One account with a profile at each provider (Google emulator, Graph emulator, a real
Radicale CalDAV server), synced by the real engine and read through the real API.

The event-model scenarios (people, recurrence, deletions) arrange items at a provider,
run ``world.sync()`` and read ``/v1/events`` exactly as a caller would. ``provider_world``
is a pytest fixture; modules import it (and ``ProviderWorld``) from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from syncd.api.app import create_app
from syncd.config import Settings, load_settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application, issue_access_token
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import DEFAULT_USER as GRAPH_USER
from tests.emulators.graph import GraphEmulator
from tests.support.radicale import CalDAVAccount

GOOGLE_CALENDAR = "alice@example.com"
GRAPH_CALENDAR = "AAMkAGcalendar-primary"
#: Soon, inside the store's expansion window.
DAY = dt.date.today() + dt.timedelta(days=5)


def utc(day_offset: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC time ``day_offset`` days after DAY."""
    return dt.datetime.combine(DAY + dt.timedelta(days=day_offset), dt.time(hour, minute), dt.UTC)


def wire(moment: dt.datetime) -> str:
    """A time as the API writes it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ProviderWorld:
    """The account, its three profiles and calendars, the emulators and the API."""

    engine: Engine
    settings: Settings
    box: SecretBox
    client: TestClient
    google: GoogleCalendarEmulator
    graph: GraphEmulator
    caldav: CalDAVAccount
    token: str
    profiles: dict[str, str]  # provider name → pro_…
    calendars: dict[str, str] = field(default_factory=dict)  # provider name → cal_…

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def sync(self, provider: str | None = None) -> None:
        """One run of the engine for one profile (or all), as the daemon would."""
        context = SyncContext(self.engine, self.settings, self.box, worker_id="test")
        for name, profile_id in self.profiles.items():
            if provider is None or name == provider:
                assert sync_profile(context, profile_id).outcome == "ok"
        with session_scope(self.engine) as session:
            for calendar in session.execute(select(Calendar)).scalars():
                name = _provider_of(calendar.provider_calendar_id)
                if name is not None:
                    self.calendars[name] = calendar.id

    def read_events(self, **params: Any) -> list[dict[str, Any]]:
        """Every event of every page of ``GET /v1/events`` (defaults: a window round DAY)."""
        query = {
            "tzid": "Etc/UTC",
            "from": (DAY - dt.timedelta(days=3)).isoformat(),
            "to": (DAY + dt.timedelta(days=20)).isoformat(),
        } | params
        response = self.client.get("/v1/events", headers=self.auth(), params=query)
        events: list[dict[str, Any]] = []
        while True:
            assert response.status_code == 200, response.text
            page = response.json()
            events += page["events"]
            if not page["pages"].get("next_page"):
                return events
            response = self.client.get(page["pages"]["next_page"], headers=self.auth())

    def events_of(self, provider: str, **params: Any) -> list[dict[str, Any]]:
        calendar_id = self.calendars[provider]
        return [e for e in self.read_events(**params) if e["calendar_id"] == calendar_id]

    def put_caldav(self, uid: str, vevent_lines: str) -> None:
        """Store one VEVENT (its lines, CRLF-joined or not) in the CalDAV calendar."""
        body = "\r\n".join(line.strip() for line in vevent_lines.strip().splitlines())
        text = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n{body}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        self.caldav.server.put_event(self.caldav.calendar_url, uid, text)


def google_timed(event_id: str, day: int, hour: int, **fields: Any) -> dict[str, Any]:
    """A one-hour Google event (its summary is its id) ``day`` days from today at ``hour``."""
    return {
        "id": event_id,
        "summary": event_id,
        "start": {"dateTime": wire(utc(day, hour)), "timeZone": "UTC"},
        "end": {"dateTime": wire(utc(day, hour + 1)), "timeZone": "UTC"},
        **fields,
    }


def graph_timed(event_id: str, day: int, hour: int, **fields: Any) -> dict[str, Any]:
    """The same as a Graph event (its subject is its id), times as Graph writes them."""
    start, end = utc(day, hour), utc(day, hour + 1)
    return {
        "id": event_id,
        "subject": event_id,
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        **fields,
    }


def only(events: list[dict[str, Any]], summary: str) -> dict[str, Any]:
    """The one event of ``events`` with this summary."""
    (event,) = [event for event in events if event["summary"] == summary]
    return event


def _provider_of(provider_calendar_id: str) -> str | None:
    if provider_calendar_id == GOOGLE_CALENDAR:
        return "google"
    if provider_calendar_id == GRAPH_CALENDAR:
        return "microsoft"
    if provider_calendar_id.endswith("/work/"):
        return "caldav"
    return None


def world_settings(
    database_url: str, secret_key: str, google: GoogleCalendarEmulator, graph: GraphEmulator
) -> Settings:
    return load_settings(
        database_url=database_url,
        secret_keys=[secret_key],
        webhook_allowed_hosts=["127.0.0.1"],
        http_timeout=5.0,
        google={
            "client_id": google.client_id,
            "client_secret": google.client_secret,
            "api_base_url": google.base_url,
            "token_url": google.token_url,
            "authorize_url": google.authorize_url,
        },
        microsoft={
            "client_id": graph.client_id,
            "client_secret": graph.client_secret,
            "api_base_url": graph.api_base_url,
            "token_url": graph.token_url,
            "authorize_url": graph.authorize_url,
        },
    )


@pytest.fixture
def provider_world(
    engine: Engine,
    database_url: str,
    secret_key: str,
    box: SecretBox,
    google_emulator: GoogleCalendarEmulator,
    graph_emulator: GraphEmulator,
    caldav_account: CalDAVAccount,
) -> Iterator[ProviderWorld]:
    google_emulator.add_calendar(GOOGLE_CALENDAR, primary=True)
    graph_emulator.add_calendar(GRAPH_CALENDAR, name="Calendar", default=True)
    settings = world_settings(database_url, secret_key, google_emulator, graph_emulator)
    with session_scope(engine) as session:
        application = create_application(session, box, "people-app").application
        account = create_account(session, application.id, GOOGLE_CALENDAR, "Alice")
        token = issue_access_token(session, account.id)
        profiles = {
            "google": create_profile(
                session, box, account, "google", GOOGLE_CALENDAR, google_emulator.issue_grant()
            ).id,
            "microsoft": create_profile(
                session, box, account, "microsoft", GRAPH_USER, graph_emulator.issue_grant()
            ).id,
            "caldav": create_profile(
                session, box, account, "caldav", caldav_account.user, caldav_account.credentials
            ).id,
        }
    app = create_app(settings, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        world = ProviderWorld(
            engine=engine,
            settings=settings,
            box=box,
            client=client,
            google=google_emulator,
            graph=graph_emulator,
            caldav=caldav_account,
            token=token,
            profiles=profiles,
        )
        world.sync()
        yield world
