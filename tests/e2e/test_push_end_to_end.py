"""A change at the provider reaches the store through push, not the poll: a real
``SyncDaemon`` and ``ApiServer`` on 127.0.0.1, the emulators calling back, and a poll
interval of a day so only a notification can explain the change arriving."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from syncd.api.server import ApiServer
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.sync import push
from syncd.sync.daemon import SyncDaemon
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import DEFAULT_USER as GRAPH_USER
from tests.emulators.graph import GraphEmulator
from tests.support.push_world import (
    NEVER,
    add_profile,
    channels_of,
    emulated_settings,
    profile_row,
    stored_event_ids,
    wait_until,
)

pytestmark = pytest.mark.store

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)
#: Generous bound for a CI machine; the benchmark measures the real figure (~1 s).
PUSH_DEADLINE_SECONDS = 10.0


@pytest.fixture
def running(
    engine: Engine, settings: Settings, box: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., SyncDaemon]]:
    """``start(google=…, graph=…)``: the API, then a daemon whose push URL points at it."""
    monkeypatch.setattr(push, "MAINTENANCE_SECONDS", 0.2)
    started: list[Any] = []

    def start(**emulators: Any) -> SyncDaemon:
        server = ApiServer(settings, engine, host="127.0.0.1", port=0)
        server.start()
        started.append(server)
        configured = emulated_settings(
            settings, **emulators, poll_interval=NEVER, push_base_url=server.url
        )
        daemon = SyncDaemon(engine, configured, box)
        daemon.start()
        started.append(daemon)
        return daemon

    yield start
    for item in reversed(started):
        item.stop()


def settle(engine: Engine, profile_id: str, calendars: int) -> None:
    """Wait for the first sync, live channels, and the catch-up sync they trigger."""
    wait_until(lambda: profile_row(engine, profile_id).sync_status == "active")
    wait_until(lambda: _live_channels(engine, profile_id) == calendars)
    created = max(channel.created_at for channel in channels_of(engine, profile_id))
    wait_until(lambda: _caught_up_since(engine, profile_id, created))


def _live_channels(engine: Engine, profile_id: str) -> int:
    return sum(c.provider_resource_id is not None for c in channels_of(engine, profile_id))


def _caught_up_since(engine: Engine, profile_id: str, moment: dt.datetime) -> bool:
    """Synced since ``moment``, not running, and not due again for a long while."""
    profile = profile_row(engine, profile_id)
    return (
        profile.lease_owner is None
        and profile.last_success_at is not None
        and profile.last_success_at >= moment
        and profile.next_due_at is not None
        and profile.next_due_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    )


def test_a_google_change_reaches_the_store_through_push_without_waiting_for_the_poll(
    engine: Engine,
    box: SecretBox,
    google_emulator: GoogleCalendarEmulator,
    running: Callable[..., SyncDaemon],
) -> None:
    google_emulator.add_calendar("alice@example.com", primary=True)
    profile_id = add_profile(
        engine, box, "google", "alice@example.com", google_emulator.issue_grant()
    )
    running(google=google_emulator)
    settle(engine, profile_id, calendars=1)

    google_emulator.put_event(
        "alice@example.com",
        {
            "id": "pushedevent1",
            "summary": "pushed",
            "start": {"dateTime": START.isoformat()},
            "end": {"dateTime": (START + dt.timedelta(hours=1)).isoformat()},
        },
    )
    seconds = wait_until(
        lambda: "pushedevent1" in stored_event_ids(engine), timeout=PUSH_DEADLINE_SECONDS
    )

    assert seconds < PUSH_DEADLINE_SECONDS
    google_emulator.wait_for_notifications()
    states = [
        (d.headers["X-Goog-Resource-State"], d.status) for d in google_emulator.push_deliveries
    ]
    assert ("sync", 200) in states and ("exists", 200) in states


def test_a_microsoft_change_reaches_the_store_through_push_after_the_validation_handshake(
    engine: Engine,
    box: SecretBox,
    graph_emulator: GraphEmulator,
    running: Callable[..., SyncDaemon],
) -> None:
    graph_emulator.add_calendar("AAMkAGcalendar-primary", default=True)
    profile_id = add_profile(engine, box, "microsoft", GRAPH_USER, graph_emulator.issue_grant())
    running(graph=graph_emulator)
    settle(engine, profile_id, calendars=1)
    assert len(graph_emulator.subscriptions()) == 1  # only exists once validated

    created = graph_emulator.put_event(
        "AAMkAGcalendar-primary",
        {
            "subject": "pushed",
            "start": {"dateTime": START.replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
            "end": {
                "dateTime": (START + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(),
                "timeZone": "UTC",
            },
        },
    )
    seconds = wait_until(
        lambda: created["id"] in stored_event_ids(engine), timeout=PUSH_DEADLINE_SECONDS
    )

    assert seconds < PUSH_DEADLINE_SECONDS
    graph_emulator.wait_for_notifications()
    assert [d.status for d in graph_emulator.push_deliveries] == [202]
