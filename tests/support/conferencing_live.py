"""A live conferencing world: a real API server and a real daemon on 127.0.0.1.

Google, Microsoft Graph, Zoom and GoTo emulators stand in for the providers and a local
webhook receiver for the caller's application, so a test (or ``bench/conferencing.py``)
drives everything through HTTP exactly as a deployment would: pycronofy → API → outbox
and managed-event rows → daemon job → provider emulators → signed webhook.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pycronofy
from sqlalchemy import Engine, select

from providers.microsoft import CA_BUNDLE_ENV
from syncd.api.server import ApiServer
from syncd.config import Settings, load_settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.managed import create_conferencing_profile
from syncd.store.models import Calendar, ManagedEvent
from syncd.store.profiles import create_profile
from syncd.store.tenants import (
    create_account,
    create_application,
    find_account,
    issue_access_token,
)
from syncd.sync.daemon import SyncDaemon
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.goto import GoToEmulator
from tests.emulators.graph import GraphEmulator
from tests.emulators.zoom import ZoomEmulator
from tests.support.webhook_receiver import Received, WebhookReceiver

GOOGLE_CALENDAR = "alice@example.com"
MICROSOFT_CALENDAR = "AAMkAGI2TGuLAAA="
MICROSOFT_USER = "alice@contoso.com"


def oauth_section(emulator: Any, api_base_url: str) -> dict[str, str]:
    return {
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "api_base_url": api_base_url,
        "token_url": emulator.token_url,
        "authorize_url": emulator.authorize_url,
    }


def live_settings(
    database_url: str,
    secret_key: str,
    google: GoogleCalendarEmulator,
    graph: GraphEmulator,
    zoom: ZoomEmulator,
    goto: GoToEmulator,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_keys": [secret_key],
        "webhook_allowed_hosts": ["127.0.0.1"],
        "webhook_retry_initial": 0.2,
        "http_timeout": 5.0,
        "lease_seconds": 30.0,
        "workers": 2,
        "log_level": "WARNING",
        "google": oauth_section(google, google.base_url),
        "microsoft": oauth_section(graph, graph.api_base_url),
        "zoom": oauth_section(zoom, zoom.api_base_url),
        "goto": oauth_section(goto, goto.api_base_url),
    }
    values.update(overrides)
    return load_settings(**values)


def emulator_environment(
    google: GoogleCalendarEmulator, graph: GraphEmulator, zoom: ZoomEmulator, goto: GoToEmulator
) -> dict[str, str]:
    """The same endpoints as ``SYNCD_*`` variables, for a ``syncd run`` subprocess."""
    environment = {
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        CA_BUNDLE_ENV: graph.ca_bundle,
        "SYNCD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "SYNCD_WEBHOOK_RETRY_INITIAL": "0.2",
    }
    sections = {
        "GOOGLE": oauth_section(google, google.base_url),
        "MICROSOFT": oauth_section(graph, graph.api_base_url),
        "ZOOM": oauth_section(zoom, zoom.api_base_url),
        "GOTO": oauth_section(goto, goto.api_base_url),
    }
    for section, values in sections.items():
        for key, value in values.items():
            environment[f"SYNCD_{section}__{key.upper()}"] = value
    return environment


@dataclass
class LiveWorld:
    """One application, one account with a Google and a Microsoft calendar."""

    engine: Engine
    settings: Settings
    box: SecretBox
    google: GoogleCalendarEmulator
    graph: GraphEmulator
    zoom: ZoomEmulator
    goto: GoToEmulator
    receiver: WebhookReceiver
    token: str
    #: The application's client_secret, which signs its webhooks (as Cronofy's does).
    client_secret: str
    account_id: str
    google_calendar: str
    microsoft_calendar: str
    server: ApiServer | None = None

    def sdk(self) -> pycronofy.Client:
        """pycronofy pointed at the running server (it has no base-URL option)."""
        assert self.server is not None
        client = pycronofy.Client(access_token=self.token)
        client.request_handler.base_url = self.server.url
        return client

    def verifier(self) -> pycronofy.Client:
        """pycronofy as the receiving application uses it to check signatures."""
        return pycronofy.Client(client_secret=self.client_secret)

    def connect(self, provider: str, credentials: dict[str, Any]) -> str:
        with session_scope(self.engine) as session:
            account = find_account(session, self.account_id)
            return create_conferencing_profile(
                session, self.box, account, provider, f"alice@{provider}", credentials
            ).id

    def set_default(self, profile_id: str | None) -> None:
        with session_scope(self.engine) as session:
            account = find_account(session, self.account_id)
            account.default_conferencing_profile_id = profile_id
            session.add(account)

    def managed(self, event_id: str) -> ManagedEvent:
        with session_scope(self.engine) as session:
            return session.execute(
                select(ManagedEvent).where(ManagedEvent.event_id == event_id)
            ).scalar_one()

    def received(self, kind: str = "conferencing_assigned") -> list[Received]:
        return [r for r in list(self.receiver.accepted) if json_kind(r) == kind]

    def wait_for_webhooks(self, count: int, timeout: float = 20.0) -> list[Received]:
        wait_for(lambda: len(self.received()) >= count, timeout, f"{count} webhook(s)")
        return self.received()


def json_kind(received: Received) -> str | None:
    try:
        return str(json.loads(received.body)["notification"]["type"])
    except (ValueError, KeyError, TypeError):
        return None


def wait_for(
    condition: Callable[[], bool], timeout: float, message: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def event_body(event_id: str, start: dt.datetime, **extra: Any) -> dict[str, Any]:
    """An upsert body as pycronofy sends it (times formatted by the SDK)."""
    return {
        "event_id": event_id,
        "summary": f"Meeting {event_id}",
        "description": "Agenda to follow.",
        "start": start,
        "end": start + dt.timedelta(minutes=30),
        "tzid": "Etc/UTC",
        **extra,
    }


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@contextmanager
def live_world(
    engine: Engine,
    database_url: str,
    secret_key: str,
    box: SecretBox,
    *,
    serve: bool = True,
    run_daemon: bool = True,
    **overrides: Any,
) -> Iterator[LiveWorld]:
    """Emulators, receiver, data and (optionally) the server and an in-process daemon.

    Sets ``OAUTHLIB_INSECURE_TRANSPORT=1`` (plain-http token URLs) and the Graph
    emulator's CA bundle in the environment while it runs, and restores both after.
    """
    with ExitStack() as stack:
        google = stack.enter_context(GoogleCalendarEmulator())
        graph = stack.enter_context(GraphEmulator())
        zoom = stack.enter_context(ZoomEmulator())
        goto = stack.enter_context(GoToEmulator())
        for name, value in (("OAUTHLIB_INSECURE_TRANSPORT", "1"), (CA_BUNDLE_ENV, graph.ca_bundle)):
            stack.callback(_restore, name, os.environ.get(name))
            os.environ[name] = value
        receiver = WebhookReceiver()
        receiver.start()
        stack.callback(receiver.stop)
        google.add_calendar(GOOGLE_CALENDAR, primary=True)
        graph.add_calendar(MICROSOFT_CALENDAR, name="Calendar", default=True)
        settings = live_settings(database_url, secret_key, google, graph, zoom, goto, **overrides)
        with session_scope(engine) as session:
            created = create_application(session, box, "live-app")
            account = create_account(session, created.application.id, "alice@example.com")
            token = issue_access_token(session, account.id)
            profiles = [
                create_profile(
                    session, box, account, "google", GOOGLE_CALENDAR, google.issue_grant()
                ).id,
                create_profile(
                    session, box, account, "microsoft", MICROSOFT_USER, graph.issue_grant()
                ).id,
            ]
            account_id, secret = account.id, created.client_secret
        context = SyncContext(engine, settings, box, worker_id="setup")
        for profile_id in profiles:
            assert sync_profile(context, profile_id).outcome == "ok"
        with session_scope(engine) as session:
            by_remote = {
                c.provider_calendar_id: c.id for c in session.execute(select(Calendar)).scalars()
            }
        world = LiveWorld(
            engine=engine,
            settings=settings,
            box=box,
            google=google,
            graph=graph,
            zoom=zoom,
            goto=goto,
            receiver=receiver,
            token=token,
            client_secret=secret,
            account_id=account_id,
            google_calendar=by_remote[GOOGLE_CALENDAR],
            microsoft_calendar=by_remote[MICROSOFT_CALENDAR],
        )
        if serve:
            world.server = ApiServer(settings, engine, host="127.0.0.1", port=0)
            world.server.start()
            stack.callback(world.server.stop)
        if run_daemon:
            daemon = SyncDaemon(engine, settings, box)
            daemon.start()
            stack.callback(daemon.stop)
        yield world
