"""Issue 13: Graph subscription lifecycle notifications, and a moved ``push_base_url``.

Graph posts lifecycle notifications to a subscription's ``lifecycleNotificationUrl``
(https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events): a
``{"value": [...]}`` collection whose entries carry ``subscriptionId``,
``subscriptionExpirationDateTime``, ``tenantId``, ``clientState`` and ``lifecycleEvent``
(``reauthorizationRequired``, ``missed`` or ``subscriptionRemoved``) instead of
``changeType``/``resource``, and expects ``202 Accepted``. Only subscriptions created with
that URL get them, and it cannot be added to an existing one. ``reauthorizationRequired``
is answered by renewing (PATCH ``expirationDateTime`` reauthorizes too), ``missed`` by a
resync, ``subscriptionRemoved`` by a new subscription and a resync. The emulator
(``tests/emulators/graph.py``, ``send_lifecycle``) sends exactly those documents.

A real ``SyncDaemon`` and ``ApiServer`` on 127.0.0.1, polling once a day: only the
notification can explain what the daemon does.
"""

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
from tests.emulators.graph import DEFAULT_USER as GRAPH_USER
from tests.emulators.graph import GraphEmulator
from tests.support.push_world import (
    NEVER,
    add_profile,
    channels_of,
    emulated_settings,
    profile_row,
    wait_until,
)

pytestmark = pytest.mark.store

CALENDAR = "AAMkAGcalendar-primary"


class World:
    def __init__(self, engine: Engine, settings: Settings, box: SecretBox) -> None:
        self.engine, self.settings, self.box = engine, settings, box
        self.started: list[Any] = []
        self.daemon: SyncDaemon | None = None

    def server(self) -> ApiServer:
        server = ApiServer(self.settings, self.engine, host="127.0.0.1", port=0)
        server.start()
        self.started.append(server)
        return server

    def daemon_on(self, server: ApiServer, graph: GraphEmulator) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        configured = emulated_settings(
            self.settings, graph=graph, poll_interval=NEVER, push_base_url=server.url
        )
        self.daemon = SyncDaemon(self.engine, configured, self.box)
        self.daemon.start()

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        for item in reversed(self.started):
            item.stop()


@pytest.fixture
def world(
    engine: Engine, settings: Settings, box: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    monkeypatch.setattr(push, "MAINTENANCE_SECONDS", 0.2)
    created = World(engine, settings, box)
    yield created
    created.stop()


def _subscribed(world: World, graph: GraphEmulator) -> tuple[str, dict[str, Any]]:
    graph.add_calendar(CALENDAR, default=True)
    profile_id = add_profile(world.engine, world.box, "microsoft", GRAPH_USER, graph.issue_grant())
    world.daemon_on(world.server(), graph)
    wait_until(lambda: profile_row(world.engine, profile_id).sync_status == "active")
    wait_until(lambda: len(graph.subscriptions()) == 1)
    wait_until(lambda: all(c.provider_resource_id for c in channels_of(world.engine, profile_id)))
    (subscription,) = graph.subscriptions()
    return profile_id, subscription


def _synced_after(world: World, profile_id: str, moment: dt.datetime) -> Callable[[], bool]:
    def synced() -> bool:
        last = profile_row(world.engine, profile_id).last_success_at
        return last is not None and last > moment

    return synced


def test_subscriptions_ask_for_lifecycle_notifications_at_the_validated_callback(
    world: World, graph_emulator: GraphEmulator
) -> None:
    _profile_id, subscription = _subscribed(world, graph_emulator)
    assert subscription["lifecycleNotificationUrl"] == subscription["notificationUrl"]


def test_reauthorization_required_renews_the_subscription(
    world: World, graph_emulator: GraphEmulator
) -> None:
    profile_id, subscription = _subscribed(world, graph_emulator)
    graph_emulator.send_lifecycle(subscription["id"], "reauthorizationRequired")
    graph_emulator.wait_for_notifications()
    assert [d.status for d in graph_emulator.push_deliveries][-1] == 202

    stored = graph_emulator._subscriptions[subscription["id"]]
    # Renewing (PATCH expirationDateTime) is what clears it at the emulator, as at Graph.
    wait_until(lambda: not stored.reauthorization_pending)
    (current,) = graph_emulator.subscriptions()
    assert current["id"] == subscription["id"]  # renewed in place, not replaced
    wait_until(lambda: not channels_of(world.engine, profile_id)[0].renew_requested)


def test_subscription_removed_creates_another_and_resyncs(
    world: World, graph_emulator: GraphEmulator
) -> None:
    profile_id, subscription = _subscribed(world, graph_emulator)
    before = dt.datetime.now(dt.UTC)
    graph_emulator.send_lifecycle(subscription["id"], "subscriptionRemoved")
    graph_emulator.wait_for_notifications()
    assert [d.status for d in graph_emulator.push_deliveries][-1] == 202

    wait_until(
        lambda: [s["id"] for s in graph_emulator.subscriptions()] not in ([], [subscription["id"]])
    )
    (replacement,) = graph_emulator.subscriptions()
    assert replacement["id"] != subscription["id"]
    wait_until(_synced_after(world, profile_id, before))
    # The channel row learns the new id once the create call has answered: wait for it.
    wait_until(
        lambda: (
            [c.provider_resource_id for c in channels_of(world.engine, profile_id)]
            == [replacement["id"]]
        )
    )


def test_missed_notifications_resync_the_calendar(
    world: World, graph_emulator: GraphEmulator
) -> None:
    profile_id, subscription = _subscribed(world, graph_emulator)
    wait_until(lambda: profile_row(world.engine, profile_id).lease_owner is None)
    before = dt.datetime.now(dt.UTC)
    graph_emulator.send_lifecycle(subscription["id"], "missed")
    graph_emulator.wait_for_notifications()
    assert [d.status for d in graph_emulator.push_deliveries][-1] == 202
    wait_until(_synced_after(world, profile_id, before))


def test_a_moved_push_base_url_moves_existing_subscriptions(
    world: World, graph_emulator: GraphEmulator
) -> None:
    profile_id, subscription = _subscribed(world, graph_emulator)
    moved = world.server()
    world.daemon_on(moved, graph_emulator)

    def moved_over() -> bool:
        live = graph_emulator.subscriptions()
        return len(live) == 1 and live[0]["notificationUrl"].startswith(moved.url)

    wait_until(moved_over)
    # The old channel's row goes once Graph has deleted its subscription.
    wait_until(lambda: len(channels_of(world.engine, profile_id)) == 1)
    (current,) = graph_emulator.subscriptions()
    assert current["id"] != subscription["id"]
    assert current["lifecycleNotificationUrl"] == current["notificationUrl"]
    (channel,) = channels_of(world.engine, profile_id)
    assert channel.callback_url == current["notificationUrl"]
    assert channel.provider_resource_id == current["id"]
