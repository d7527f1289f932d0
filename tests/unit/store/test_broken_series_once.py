"""Issue 15, defect 10: a series that fails to expand is tried (and warned about) once per etag."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest
from sqlalchemy import Engine

from providers.base import RemoteEvent
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)
BROKEN = RemoteEvent(
    "broken-series",
    START,
    START + dt.timedelta(hours=1),
    recurrence=["RRULE:FREQ=WEEKLY;INTERVAL=0"],
    etag='"v1"',
)


def _warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("skipping malformed series" in record.getMessage() for record in caplog.records)


def test_a_broken_series_is_warned_about_once_until_it_changes(
    engine: Engine, settings: Settings, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    remote = FakeAccount()
    remote.add_calendar("work")
    remote.put("work", BROKEN)
    remote.put("work", RemoteEvent("fine", START, START + dt.timedelta(minutes=30), etag='"1"'))
    with session_scope(engine) as session:
        application = create_application(session, box, "t").application
        account = create_account(session, application.id, "a@example.com", timezone="Etc/UTC")
        profile_id = create_profile(session, box, account, "fake", "f", {"t": "t"}).id
    context = SyncContext(engine, settings, box, provider_factory=lambda *_: FakeProvider(remote))
    caplog.set_level(logging.WARNING, logger="syncd.store.events")

    for _ in range(3):  # the first sync, then two with nothing changed
        assert sync_profile(context, profile_id).outcome == "ok"
    assert _warnings(caplog) == 1

    remote.put("work", dataclasses.replace(BROKEN, etag='"v2"'))  # changed: try again
    assert sync_profile(context, profile_id).outcome == "ok"
    assert sync_profile(context, profile_id).outcome == "ok"
    assert _warnings(caplog) == 2
