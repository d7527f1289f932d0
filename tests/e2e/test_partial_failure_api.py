"""Issue 15, defect 2 through the API: a profile with a failing and a deleted calendar.

``/v1/profiles`` keeps the profile ``active`` with a reason naming the failing calendar;
the calendar the provider deleted (stored ``deleted``, its events gone) is no longer
listed by ``/v1/calendars`` or ``/v1/userinfo``, in the same run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from providers.base import ChangePage, NotFound, ProviderError, RemoteCalendar, RemoteEvent
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.sync.run import SyncContext, sync_profile
from tests.support.api import ApiWorld
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)


class Faulty(FakeProvider):
    def __init__(self, account: FakeAccount) -> None:
        super().__init__(account)
        self.faults: dict[str, Exception] = {}

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        if calendar.provider_calendar_id in self.faults:
            raise self.faults[calendar.provider_calendar_id]
        yield from super().sync_events(calendar, cursor)


def test_the_api_says_which_calendar_fails_and_which_is_gone(
    api_app: FastAPI,
    api_client: TestClient,
    api_world: ApiWorld,
    engine: Engine,
    settings: Settings,
    box: SecretBox,
) -> None:
    api_app.state.clock = lambda: dt.datetime.now(dt.UTC)  # the sync below runs on real time
    alice = api_world.account(api_world.application("acme"), "alice@example.com")
    profile_id = api_world.profile(alice, sync_status="pending", initial_sync_done=False)
    remote = FakeAccount()
    for index, name in enumerate(("work", "broken", "gone")):
        remote.add_calendar(name, name.title())
        start = START + dt.timedelta(hours=index)
        remote.put(name, RemoteEvent(f"{name}-1", start, start + dt.timedelta(minutes=30)))
    provider = Faulty(remote)
    context = SyncContext(engine, settings, box, provider_factory=lambda *_: provider)
    assert sync_profile(context, profile_id).outcome == "ok"
    provider.faults = {"broken": ProviderError("unexpected HTTP 412"), "gone": NotFound("404")}

    assert sync_profile(context, profile_id).outcome == "partial"

    (profile,) = api_client.get("/v1/profiles", headers=alice.auth()).json()["profiles"]
    assert profile["sync_status"] == "active"
    assert "Broken: ProviderError: unexpected HTTP 412" in profile["sync_status_reason"]
    userinfo = api_client.get("/v1/userinfo", headers=alice.auth()).json()
    calendars = userinfo["cronofy.data"]["profiles"][0]["profile_calendars"]
    deleted = {c["calendar_name"]: c["calendar_deleted"] for c in calendars}
    assert deleted == {"Work": False, "Broken": False}  # the API lists live calendars only
    listed = api_client.get("/v1/calendars", headers=alice.auth()).json()["calendars"]
    assert sorted(c["calendar_name"] for c in listed) == ["Broken", "Work"]
