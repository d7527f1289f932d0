"""Channel notifications: verification on creation, change after syncs that changed
matching calendars, profile_disconnected when credentials are refused. Store tests: they
run on SQLite and (with SYNCD_TEST_DATABASE_URL) Postgres."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from providers.base import RemoteEvent
from syncd import cli
from syncd.config import Settings
from syncd.errors import FieldErrors, NotFoundError
from syncd.notify.channels import close_channel, create_channel, install_sync_hooks, list_channels
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.models import Account, Calendar, Event, OutboxMessage, SyncRun, utcnow
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.daemon import SyncDaemon
from syncd.sync.run import SyncContext, sync_profile
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

BASE = dt.datetime.combine(dt.date.today() + dt.timedelta(days=3), dt.time(9), dt.UTC)
HOOK = "https://93.184.216.34/hook"


def event(event_id: str, hour: int, summary: str = "") -> RemoteEvent:
    start = BASE + dt.timedelta(hours=hour)
    return RemoteEvent(event_id, start, start + dt.timedelta(hours=1), summary=summary or event_id)


@dataclass
class World:
    engine: Engine
    settings: Settings
    remote: FakeAccount
    account_id: str
    profile_id: str
    context: SyncContext

    def account(self) -> Account:
        with session_scope(self.engine) as session:
            account = session.get(Account, self.account_id)
            assert account is not None
            return account

    def channel(self, **filters: Any) -> str:
        with session_scope(self.engine) as session:
            return create_channel(session, self.settings, self.account(), HOOK, **filters).id

    def calendar_id(self, provider_calendar_id: str) -> str:
        with session_scope(self.engine) as session:
            return session.execute(
                select(Calendar.id).where(Calendar.provider_calendar_id == provider_calendar_id)
            ).scalar_one()

    def sync(self) -> str:
        outcome = sync_profile(self.context, self.profile_id)
        return outcome.outcome

    def notifications(self, kind: str | None = None) -> list[dict[str, Any]]:
        with session_scope(self.engine) as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
            bodies = [json.loads(row.body) for row in session.execute(query).scalars()]
        return [b for b in bodies if kind is None or b["notification"]["type"] == kind]


@pytest.fixture
def world(engine: Engine, settings: Settings, box: SecretBox) -> World:
    remote = FakeAccount()
    remote.add_calendar("work")
    remote.add_calendar("home")
    remote.put("work", event("w1", 0))
    remote.put("home", event("h1", 2))
    with session_scope(engine) as session:
        application = create_application(session, box, "acme").application
        account = create_account(session, application.id, "ada@example.com")
        profile = create_profile(session, box, account, "fake", "ada@fake", {"token": "t"})
        ids = (account.id, profile.id)
    context = SyncContext(
        engine, settings, box, worker_id="test", provider_factory=lambda *_: FakeProvider(remote)
    )
    install_sync_hooks(context)
    world = World(engine, settings, remote, ids[0], ids[1], context)
    assert world.sync() == "ok"  # calendars and first events stored before any channel
    return world


def test_a_new_channel_gets_a_verification_notification(world: World) -> None:
    channel_id = world.channel()
    assert world.notifications() == [
        {
            "notification": {"type": "verification"},
            "channel": {"channel_id": channel_id, "callback_url": HOOK, "filters": {}},
        }
    ]


def test_a_sync_that_changed_events_notifies_with_changes_since_its_start(world: World) -> None:
    channel_id = world.channel()
    world.remote.put("work", event("w2", 4))
    assert world.sync() == "ok"

    (change,) = world.notifications("change")
    with session_scope(world.engine) as session:
        run = session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()  # type: ignore[union-attr]
        assert run is not None
    assert change["notification"]["changes_since"] == run.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert change["channel"]["channel_id"] == channel_id


def test_a_sync_without_changes_notifies_nobody(world: World) -> None:
    world.channel()
    assert world.sync() == "ok"
    assert world.notifications("change") == []


def test_deletions_are_changes_too(world: World) -> None:
    world.channel()
    world.remote.delete("home", "h1")
    assert world.sync() == "ok"
    assert len(world.notifications("change")) == 1


def test_calendar_filters_pick_the_channels_to_notify(world: World) -> None:
    work, home = world.calendar_id("work"), world.calendar_id("home")
    work_only = world.channel(calendar_ids=[work])
    home_only = world.channel(calendar_ids=[home])
    everything = world.channel()

    world.remote.put("work", event("w2", 5))
    assert world.sync() == "ok"

    notified = [n["channel"]["channel_id"] for n in world.notifications("change")]
    assert sorted(notified) == sorted([work_only, everything])
    assert home_only not in notified


def test_only_managed_channels_hear_only_about_events_written_through_the_api(
    world: World,
) -> None:
    managed_channel = world.channel(only_managed=True)
    world.remote.put("work", event("w2", 5))
    assert world.sync() == "ok"
    assert world.notifications("change") == []  # w2 is not a managed event

    with session_scope(world.engine) as session:
        session.execute(
            update(Event).where(Event.provider_event_id == "w1").values(managed_event_id="ev-1")
        )
    world.remote.put("work", event("w1", 0, summary="moved by the API"))
    assert world.sync() == "ok"
    (change,) = world.notifications("change")
    assert change["channel"] == {
        "channel_id": managed_channel,
        "callback_url": HOOK,
        "filters": {"only_managed": True},
    }


def test_a_closed_channel_is_not_notified(world: World) -> None:
    channel_id = world.channel()
    with session_scope(world.engine) as session:
        close_channel(session, world.account_id, channel_id)
        assert list_channels(session, world.account_id) == []
    world.remote.put("work", event("w2", 4))
    assert world.sync() == "ok"
    assert world.notifications("change") == []


def test_revoked_credentials_notify_every_open_channel_once(world: World) -> None:
    first, second = world.channel(), world.channel(only_managed=True)
    world.remote.revoked = True

    assert world.sync() == "auth_revoked"
    assert world.sync() == "skipped"  # already disconnected: no second notification

    disconnected = world.notifications("profile_disconnected")
    assert [n["channel"]["channel_id"] for n in disconnected] == [first, second]
    assert all(n["notification"] == {"type": "profile_disconnected"} for n in disconnected)


def test_changes_committed_before_a_failure_are_still_notified(world: World) -> None:
    world.channel()
    world.remote.page_size = 1
    world.remote.put("work", event("w2", 4))
    world.remote.put("work", event("w3", 6))
    world.remote.fail_after_pages = world.remote.pages_served + 1

    assert world.sync() == "transient_error"
    assert len(world.notifications("change")) == 1


def test_channel_input_is_checked(world: World) -> None:
    with session_scope(world.engine) as session:
        account = world.account()
        with pytest.raises(FieldErrors) as private:
            create_channel(session, world.settings, account, "https://10.0.0.8/hook")
        with pytest.raises(FieldErrors) as unknown:
            create_channel(session, world.settings, account, HOOK, calendar_ids=["cal_nope"])
        with pytest.raises(NotFoundError):
            close_channel(session, world.account_id, "chn_nope")
    assert list(private.value.errors) == ["callback_url"]
    assert list(unknown.value.errors) == ["filters.calendar_ids"]


def test_an_account_may_have_128_open_channels(world: World) -> None:
    ids = [world.channel() for _ in range(128)]
    with pytest.raises(FieldErrors, match="at most 128"):
        world.channel()
    with session_scope(world.engine) as session:
        close_channel(session, world.account_id, ids[0])
    world.channel()  # closing one makes room


def test_the_daemon_wires_channel_notifications_into_its_syncs(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    daemon = SyncDaemon(engine, settings, box)
    assert daemon.context.on_synced and daemon.context.on_disconnected


def test_syncd_sync_once_queues_profile_disconnected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = generate_key()
    url = f"sqlite:///{tmp_path / 'syncd.db'}"
    monkeypatch.setenv("SYNCD_DATABASE_URL", url)
    monkeypatch.setenv("SYNCD_SECRET_KEYS", key)
    engine = make_engine(url)
    upgrade_schema(engine)
    box = SecretBox([key])
    with session_scope(engine) as session:
        application = create_application(session, box, "acme").application
        account = create_account(session, application.id, "ada@example.com")
        create_profile(session, box, account, "fake", "ada@fake", {"token": "t"})
        create_channel(session, Settings(), account, HOOK)
    remote = FakeAccount(revoked=True)
    real_sync_profile = sync_profile

    def sync_with_fake_provider(context: SyncContext, profile_id: str) -> Any:
        context.provider_factory = lambda *_: FakeProvider(remote)
        return real_sync_profile(context, profile_id)

    monkeypatch.setattr(cli.daemon, "sync_profile", sync_with_fake_provider)
    monkeypatch.setattr(sys, "argv", ["syncd", "sync", "--once", "--json"])
    with pytest.raises(SystemExit):
        cli.main()  # exits 1: the profile's credentials were refused
    capsys.readouterr()

    with session_scope(engine) as session:
        kinds = [row.kind for row in session.execute(select(OutboxMessage)).scalars()]
    engine.dispose()
    assert kinds == ["verification", "profile_disconnected"]


def _change_rows(world: World) -> list[OutboxMessage]:
    with session_scope(world.engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "change")
        return list(session.execute(query).scalars())


class _Died(BaseException):
    """The process dying mid-run: nothing after the raise runs, not even ``_finish``."""


def test_a_run_of_many_pages_and_calendars_queues_one_change_per_channel_due_at_its_end(
    world: World,
) -> None:
    channels = {world.channel(), world.channel()}
    world.remote.page_size = 1
    for hour in (4, 6, 8):
        world.remote.put("work", event(f"w{hour}", hour))
        world.remote.put("home", event(f"h{hour}", hour))
    assert world.sync() == "ok"

    rows = _change_rows(world)
    assert sorted(json.loads(row.body)["channel"]["channel_id"] for row in rows) == sorted(channels)
    assert all(row.next_attempt_at is not None and row.next_attempt_at <= utcnow() for row in rows)


def test_a_run_that_dies_after_a_page_commit_has_its_change_queued_held_for_its_lease(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: the change is committed with the page, not with the run's end. It waits
    (the run would release it when finished) until the lease of the dead run lapses."""
    channel_id = world.channel()
    world.remote.page_size = 1
    world.remote.put("work", event("w2", 4))
    world.remote.put("work", event("w3", 6))
    original = FakeProvider.sync_events

    def dying(self: FakeProvider, calendar: Any, cursor: str | None) -> Any:
        for number, page in enumerate(original(self, calendar, cursor)):
            if number == 1:
                raise _Died()
            yield page

    monkeypatch.setattr(FakeProvider, "sync_events", dying)
    with pytest.raises(_Died):
        world.sync()

    (row,) = _change_rows(world)
    assert json.loads(row.body)["channel"]["channel_id"] == channel_id
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
