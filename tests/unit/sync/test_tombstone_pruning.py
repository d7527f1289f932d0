"""The daemon forgets tombstones past ``deleted_event_retention_days`` and keeps younger ones."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Application, Calendar, EventTombstone, Profile, utcnow
from syncd.sync.daemon import SyncDaemon

pytestmark = pytest.mark.store


def _calendar(engine: Engine) -> str:
    with session_scope(engine) as session:
        session.add(
            Application(id="app_1", name="a", client_id="cli_1", webhook_secret_encrypted="x")
        )
        session.flush()
        session.add(Account(id="acc_1", application_id="app_1", email="a@example.com"))
        session.flush()
        session.add(
            Profile(id="pro_1", account_id="acc_1", provider="caldav", credentials_encrypted="x")
        )
        session.flush()
        session.add(Calendar(id="cal_1", profile_id="pro_1", provider_calendar_id="/c/"))
    return "cal_1"


def test_the_daemon_prunes_tombstones_past_the_retention(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    calendar_id = _calendar(engine)
    retention = dt.timedelta(days=settings.deleted_event_retention_days)
    with session_scope(engine) as session:
        for age, uid in ((retention + dt.timedelta(hours=1), "old"), (dt.timedelta(0), "new")):
            session.add(
                EventTombstone(calendar_id=calendar_id, event_uid=uid, deleted_at=utcnow() - age)
            )

    pruned = SyncDaemon(engine, settings, box).prune_tombstones()

    with session_scope(engine) as session:
        left = list(session.execute(select(EventTombstone.event_uid)).scalars())
    assert (pruned, left) == (1, ["new"])
