"""Issue 13: ``kill -9`` after a sync page commits and before the run finishes loses no
``change`` notification.

The notification used to be queued by the run's last transaction (``_finish``): a daemon
killed between the first committed page and that transaction left the page's events in
the store and no notification anywhere, and the restarted run resumes from the page's
cursor, so it never learns those events changed. The notification is now queued in the
page's own transaction, coalesced per channel and run: it is in the outbox the moment
the page is (held until the run's lease lapses, or the run releases it when it finishes),
and delivered exactly once per channel after the restart.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from syncd.config import Settings
from syncd.notify.channels import create_channel
from syncd.notify.delivery import deliver_due
from syncd.radicale_server import RadicaleServer, seed_calendar_files
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Event, OutboxMessage
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.store, pytest.mark.slow]

USER = "killed"
EVENTS = 4000  # eight pages of the adapter's 500
START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(6), dt.UTC)


def _ics(uid: str, index: int) -> str:
    start = START + dt.timedelta(minutes=30 * index)
    end = start + dt.timedelta(minutes=20)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RadicaleServer]:
    items = [(f"ev{i:05d}", _ics(f"ev{i:05d}", i)) for i in range(EVENTS)]
    seed_calendar_files(tmp_path / "storage", USER, "work", items, display_name="Work")
    with RadicaleServer(tmp_path / "storage") as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return len(list(session.execute(select(Event.id)).scalars()))


def _changes(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        query = select(OutboxMessage).where(col(OutboxMessage.kind) == "change")
        return list(session.execute(query).scalars())


def test_kill_9_after_a_page_commit_still_delivers_one_change_per_channel(
    database_url: str,
    engine: Engine,
    box: SecretBox,
    secret_key: str,
    settings: Settings,
    server: RadicaleServer,
    receiver: WebhookReceiver,
) -> None:
    settings = settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})
    with session_scope(engine) as session:
        application = create_application(session, box, "kill9").application
        account = create_account(session, application.id, f"{USER}@example.com", timezone="Etc/UTC")
        credentials = {"url": server.url + "/", "username": USER, "password": "x"}
        create_profile(session, box, account, "caldav", USER, credentials)
        stored_account = session.get(Account, account.id)
        assert stored_account is not None
        channels = {
            create_channel(session, settings, stored_account, receiver.url(f"/hook/{n}")).id
            for n in range(2)
        }
    environment = {
        **os.environ,
        "SYNCD_DATABASE_URL": database_url,
        "SYNCD_SECRET_KEYS": secret_key,
    }
    command = [sys.executable, "-m", "syncd", "sync", "--once", "--json"]
    victim = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _stored(engine):
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert 0 < _stored(engine) < EVENTS, "the kill must land between two page commits"

    killed = _changes(engine)
    assert sorted(json.loads(m.body)["channel"]["channel_id"] for m in killed) == sorted(
        channels
    ), "the committed page's change notification must be in the outbox, once per channel"

    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert _stored(engine) == EVENTS

    # The killed run's notification waited for its run; it is due once the run's lease
    # (the time another daemon waits before taking over) has lapsed.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    while deliver_due(engine, settings, box, "test-delivery", limit=50, now=later):
        pass
    received = [r for r in receiver.accepted if r.path.startswith("/hook/")]
    kinds = [json.loads(r.body)["notification"]["type"] for r in received]
    changes = [r for r, kind in zip(received, kinds, strict=True) if kind == "change"]
    delivered = [r.delivery_id for r in changes]
    assert len(delivered) == len(set(delivered)), "no change notification is sent twice"
    for message in killed:
        assert delivered.count(message.delivery_id) == 1
    # The restarted run is another run: at most one more change per channel, never more.
    per_channel = [json.loads(r.body)["channel"]["channel_id"] for r in changes]
    assert all(1 <= per_channel.count(channel) <= 2 for channel in channels)
