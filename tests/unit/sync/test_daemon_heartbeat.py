"""`syncd status` lists the daemons alive now: their heartbeat, not last hour's runs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from syncd.cli.status import fleet_summary
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.heartbeats import record_heartbeat
from syncd.store.models import DaemonHeartbeat, SyncRun, utcnow
from syncd.sync.daemon import SyncDaemon

pytestmark = pytest.mark.store


def alive(engine: Engine, settings: Settings) -> list[str]:
    return [row["worker"] for row in fleet_summary(engine, settings)["daemons_alive"]]


def test_a_running_daemon_is_alive_and_gone_once_stopped(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    daemon = SyncDaemon(engine, settings, box)
    daemon.start()
    try:
        assert alive(engine, settings) == [daemon.worker_id]
    finally:
        daemon.stop()
    assert alive(engine, settings) == []


def test_a_daemon_that_stopped_beating_is_not_alive_though_it_ran_recently(
    engine: Engine, settings: Settings
) -> None:
    long_ago = utcnow() - dt.timedelta(seconds=settings.lease_seconds + 60)
    record_heartbeat(engine, "wrk_live", utcnow())
    with session_scope(engine) as session:
        session.add(DaemonHeartbeat(worker="wrk_dead", started_at=long_ago, last_seen_at=long_ago))
        session.add(SyncRun(profile_id="pro_x", worker="wrk_dead", started_at=utcnow()))

    summary = fleet_summary(engine, settings)

    assert [row["worker"] for row in summary["daemons_alive"]] == ["wrk_live"]
    assert [row["worker"] for row in summary["daemons_last_hour"]] == ["wrk_dead"]
