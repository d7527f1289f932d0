"""Push channel lifecycle against the emulators: created per calendar, renewed before they
expire, stopped when a profile, a calendar or push itself goes away; and the polling
safety net that stays on under push."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from syncd import cli
from syncd.api.server import ApiServer
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, Profile, PushChannel
from syncd.sync.leases import request_sync_now
from syncd.sync.push import FORCED_POLL_FRACTION, PushMaintenance, hash_secret
from syncd.sync.run import SyncContext, sync_profile
from syncd.sync.status import DISCONNECTED
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.graph import DEFAULT_USER as GRAPH_USER
from tests.emulators.graph import GraphEmulator
from tests.support.push_world import (
    NEVER,
    add_profile,
    channels_of,
    emulated_settings,
    is_due_now,
    profile_row,
    sync_context,
)

pytestmark = pytest.mark.store

GOOGLE_USER = "alice@example.com"
GOOGLE_CALENDARS = ("alice@example.com", "team@example.com")
GRAPH_CALENDARS = ("AAMkAGcalendar-primary", "AAMkAGcalendar-team")


@pytest.fixture
def receiver(settings: Settings, engine: Engine) -> Iterator[ApiServer]:
    """The daemon's API on a free 127.0.0.1 port: where providers call back."""
    with ApiServer(settings, engine, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def google(google_emulator: GoogleCalendarEmulator) -> GoogleCalendarEmulator:
    for index, calendar_id in enumerate(GOOGLE_CALENDARS):
        google_emulator.add_calendar(calendar_id, primary=index == 0)
    return google_emulator


@pytest.fixture
def graph(graph_emulator: GraphEmulator) -> GraphEmulator:
    for index, calendar_id in enumerate(GRAPH_CALENDARS):
        graph_emulator.add_calendar(calendar_id, default=index == 0)
    return graph_emulator


@pytest.fixture
def context(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    google: GoogleCalendarEmulator,
    graph: GraphEmulator,
    receiver: ApiServer,
) -> SyncContext:
    configured = emulated_settings(settings, google, graph, push_base_url=receiver.url)
    return sync_context(engine, configured, box)


def synced_profile(context: SyncContext, provider: str, credentials: dict[str, Any]) -> str:
    """An active profile with its calendars stored (its first sync has run)."""
    email = GOOGLE_USER if provider == "google" else GRAPH_USER
    profile_id = add_profile(context.engine, context.box, provider, email, credentials)
    outcome = sync_profile(context, profile_id)
    assert outcome.outcome == "ok", outcome.detail
    return profile_id


def expire_soon(engine: Engine, channel_id: str, minutes: int = 10) -> None:
    with session_scope(engine) as session:
        channel = session.get(PushChannel, channel_id)
        assert channel is not None
        channel.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        session.add(channel)


# -- creation ------------------------------------------------------------------


def test_every_calendar_of_an_active_google_profile_gets_a_watch_channel(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    profile_id = synced_profile(context, "google", google.issue_grant())

    report = PushMaintenance(context).run_once()

    assert report.created == 2
    rows = channels_of(context.engine, profile_id)
    live = {channel["id"]: channel for channel in google.channels()}
    assert {row.id for row in rows} == set(live)
    for row in rows:
        remote = live[row.id]
        assert remote["address"] == f"{context.settings.push_base_url}/push/google"
        assert row.provider_resource_id == remote["resourceId"]
        assert row.secret_hash == hash_secret(remote["token"])  # only the hash is stored
        assert remote["token"] not in row.secret_hash
    assert PushMaintenance(context).run_once().created == 0  # idempotent


def test_every_calendar_of_an_active_microsoft_profile_gets_a_validated_subscription(
    context: SyncContext, graph: GraphEmulator
) -> None:
    profile_id = synced_profile(context, "microsoft", graph.issue_grant())

    report = PushMaintenance(context).run_once()

    assert report.created == 2, report
    subscriptions = {s["id"]: s for s in graph.subscriptions()}
    rows = channels_of(context.engine, profile_id)
    assert {row.provider_resource_id for row in rows} == set(subscriptions)
    for row in rows:
        subscription = subscriptions[str(row.provider_resource_id)]
        assert subscription["notificationUrl"] == f"{context.settings.push_base_url}/push/microsoft"
        assert subscription["changeType"] == "created,deleted,updated"
        assert row.secret_hash == hash_secret(subscription["clientState"])
        assert row.expires_at == dt.datetime.fromisoformat(subscription["expirationDateTime"])
    assert {s["resource"] for s in subscriptions.values()} == {
        f"me/calendars/{calendar_id}/events" for calendar_id in GRAPH_CALENDARS
    }


def test_a_new_channel_is_followed_by_a_catch_up_sync(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    profile_id = synced_profile(context, "google", google.issue_grant())
    assert not is_due_now(context.engine, profile_id)

    PushMaintenance(context).run_once()

    assert is_due_now(context.engine, profile_id)


def test_a_subscription_whose_validation_fails_leaves_no_channel_behind(
    context: SyncContext, graph: GraphEmulator
) -> None:
    unreachable = context.settings.model_copy(update={"push_base_url": "http://127.0.0.1:9"})
    context.settings = unreachable
    profile_id = synced_profile(context, "microsoft", graph.issue_grant())

    report = PushMaintenance(context).run_once()

    assert report.created == 0 and report.failed == 2
    assert channels_of(context.engine, profile_id) == []
    assert graph.subscriptions() == []


def test_pending_caldav_and_push_off_profiles_get_no_channels(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    pending = add_profile(context.engine, context.box, "google", GOOGLE_USER, google.issue_grant())
    caldav = add_profile(
        context.engine, context.box, "caldav", "c@example.com", {"url": "http://127.0.0.1:9/"}
    )
    with session_scope(context.engine) as session:
        profile = session.get(Profile, caldav)
        assert profile is not None
        profile.sync_status = "active"
        session.add(Calendar(id="cal_caldav", profile_id=caldav, provider_calendar_id="/c/"))

    assert PushMaintenance(context).run_once().created == 0
    assert channels_of(context.engine) == []

    active = synced_profile(context, "google", google.issue_grant())
    context.settings = context.settings.model_copy(update={"push_base_url": ""})
    assert PushMaintenance(context).run_once().created == 0
    assert channels_of(context.engine, active) == [] and channels_of(context.engine, pending) == []


# -- renewal -------------------------------------------------------------------


def test_a_google_channel_near_expiry_is_replaced_and_the_old_one_stopped(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    profile_id = synced_profile(context, "google", google.issue_grant())
    PushMaintenance(context).run_once()
    old = channels_of(context.engine, profile_id)[0]
    expire_soon(context.engine, old.id)

    report = PushMaintenance(context).run_once()

    assert report.renewed == 1 and report.created == 0
    rows = channels_of(context.engine, profile_id)
    assert len(rows) == 2 and old.id not in {row.id for row in rows}
    replacement = next(row for row in rows if row.calendar_id == old.calendar_id)
    assert replacement.expires_at > old.expires_at
    remote = {channel["id"]: channel for channel in google.channels(live_only=False)}
    assert remote[old.id]["stopped"] is True
    assert remote[replacement.id]["stopped"] is False


def test_a_microsoft_subscription_near_expiry_is_extended_in_place(
    context: SyncContext, graph: GraphEmulator
) -> None:
    profile_id = synced_profile(context, "microsoft", graph.issue_grant())
    PushMaintenance(context).run_once()
    old = channels_of(context.engine, profile_id)[0]
    expire_soon(context.engine, old.id)

    report = PushMaintenance(context).run_once()

    assert report.renewed == 1 and report.created == 0
    renewed = next(row for row in channels_of(context.engine, profile_id) if row.id == old.id)
    assert renewed.provider_resource_id == old.provider_resource_id
    assert renewed.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert len(graph.subscriptions()) == 2
    assert graph.requests_to(f"/subscriptions/{old.provider_resource_id}", "PATCH")


def test_a_subscription_the_provider_dropped_is_replaced_when_renewal_finds_it_gone(
    context: SyncContext, graph: GraphEmulator
) -> None:
    profile_id = synced_profile(context, "microsoft", graph.issue_grant())
    PushMaintenance(context).run_once()
    old = channels_of(context.engine, profile_id)[0]
    graph.expire_subscription(str(old.provider_resource_id))
    expire_soon(context.engine, old.id)

    report = PushMaintenance(context).run_once()

    assert report.renewed == 1
    rows = channels_of(context.engine, profile_id)
    assert len(rows) == 2 and old.id not in {row.id for row in rows}
    assert len(graph.subscriptions()) == 2


def test_an_expired_channel_is_forgotten_and_a_new_one_created(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    profile_id = synced_profile(context, "google", google.issue_grant())
    PushMaintenance(context).run_once()
    old = channels_of(context.engine, profile_id)[0]
    google.expire_channel(old.id)
    expire_soon(context.engine, old.id, minutes=-1)

    report = PushMaintenance(context).run_once()

    assert report.created == 1
    assert old.id not in {row.id for row in channels_of(context.engine, profile_id)}
    assert len(google.channels()) == 2


# -- stopping ------------------------------------------------------------------


def test_removing_a_profile_with_the_cli_stops_its_channels(
    context: SyncContext,
    google: GoogleCalendarEmulator,
    database_url: str,
    secret_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile_id = synced_profile(context, "google", google.issue_grant())
    PushMaintenance(context).run_once()
    assert len(google.channels()) == 2
    for name, value in {
        "SYNCD_DATABASE_URL": database_url,
        "SYNCD_SECRET_KEYS": secret_key,
        "SYNCD_GOOGLE__CLIENT_ID": google.client_id,
        "SYNCD_GOOGLE__CLIENT_SECRET": google.client_secret,
        "SYNCD_GOOGLE__API_BASE_URL": google.base_url,
        "SYNCD_GOOGLE__TOKEN_URL": google.token_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["syncd", "profiles", "remove", profile_id])

    try:
        cli.main()
    except SystemExit as done:
        assert not done.code

    assert google.channels() == []
    assert all(channel["stopped"] for channel in google.channels(live_only=False))
    assert channels_of(context.engine) == []


def test_a_deleted_calendar_and_a_disconnected_profile_lose_their_channels(
    context: SyncContext, google: GoogleCalendarEmulator, graph: GraphEmulator
) -> None:
    google_profile = synced_profile(context, "google", google.issue_grant())
    graph_profile = synced_profile(context, "microsoft", graph.issue_grant())
    PushMaintenance(context).run_once()
    with session_scope(context.engine) as session:
        calendar = session.get(Calendar, channels_of(context.engine, google_profile)[0].calendar_id)
        assert calendar is not None
        calendar.deleted = True
        profile = session.get(Profile, graph_profile)
        assert profile is not None
        profile.sync_status = DISCONNECTED

    report = PushMaintenance(context).run_once()

    assert report.stopped == 3
    assert len(google.channels()) == 1
    assert graph.subscriptions() == []
    assert channels_of(context.engine, graph_profile) == []


def test_turning_push_off_stops_every_channel(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    synced_profile(context, "google", google.issue_grant())
    PushMaintenance(context).run_once()
    context.settings = context.settings.model_copy(update={"push_base_url": ""})

    assert PushMaintenance(context).run_once().stopped == 2
    assert google.channels() == []


# -- polling stays the safety net ---------------------------------------------------


def test_with_push_on_a_long_poll_interval_still_polls_before_the_staleness_bound(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    context.settings = context.settings.model_copy(
        update={"poll_interval": NEVER, "staleness_bound": 3600.0}
    )
    profile_id = synced_profile(context, "google", google.issue_grant())

    profile = profile_row(context.engine, profile_id)

    assert profile.next_due_at is not None and profile.last_success_at is not None
    gap = (profile.next_due_at - profile.last_success_at).total_seconds()
    assert gap == pytest.approx(3600.0 * FORCED_POLL_FRACTION)


def test_with_push_off_the_poll_interval_is_left_alone(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:
    context.settings = context.settings.model_copy(
        update={"poll_interval": 7200.0, "poll_jitter": 0.0, "push_base_url": ""}
    )
    profile_id = synced_profile(context, "google", google.issue_grant())

    profile = profile_row(context.engine, profile_id)

    assert profile.next_due_at is not None and profile.last_success_at is not None
    assert (profile.next_due_at - profile.last_success_at).total_seconds() == 7200.0


def test_a_push_that_arrives_during_a_sync_is_not_lost(
    context: SyncContext, google: GoogleCalendarEmulator
) -> None:

    profile_id = synced_profile(context, "google", google.issue_grant())
    base_factory = context.provider_factory

    def factory(settings: Settings, name: str, credentials: dict[str, Any]) -> Any:
        provider = base_factory(settings, name, credentials)
        list_calendars = provider.list_calendars

        def listing() -> Any:
            request_sync_now(context.engine, profile_id)  # a notification mid-run
            return list_calendars()

        provider.list_calendars = listing  # type: ignore[method-assign]
        return provider

    context.provider_factory = factory
    context.settings = context.settings.model_copy(update={"calendar_list_interval": 0.001})

    assert sync_profile(context, profile_id).outcome == "ok"
    assert is_due_now(context.engine, profile_id)
