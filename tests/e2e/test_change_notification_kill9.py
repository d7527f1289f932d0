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
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from syncd.config import Settings
from syncd.notify.channels import create_channel
from syncd.notify.delivery import deliver_due
from syncd.radicale_server import RadicaleServer
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Event, OutboxMessage
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from tests.support.kill9 import (
    EVENTS,
    USER,
    SyncCommand,
    any_event_stored,
    kill_after_a_page,
    large_calendar_server,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.store, pytest.mark.slow]

__all__ = ["large_calendar_server"]  # the fixture, used by name


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
    large_calendar_server: RadicaleServer,
    receiver: WebhookReceiver,
) -> None:
    settings = settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})
    with session_scope(engine) as session:
        application = create_application(session, box, "kill9").application
        account = create_account(session, application.id, f"{USER}@example.com", timezone="Etc/UTC")
        credentials = {"url": large_calendar_server.url + "/", "username": USER, "password": "x"}
        create_profile(session, box, account, "caldav", USER, credentials)
        stored_account = session.get(Account, account.id)
        assert stored_account is not None
        channels = {
            create_channel(session, settings, stored_account, receiver.url(f"/hook/{n}")).id
            for n in range(2)
        }
    sync = SyncCommand(database_url, secret_key)
    kill_after_a_page(sync, lambda: any_event_stored(engine))
    assert 0 < _stored(engine) < EVENTS, "the kill must land between two page commits"

    killed = _changes(engine)
    assert sorted(json.loads(m.body)["channel"]["channel_id"] for m in killed) == sorted(
        channels
    ), "the committed page's change notification must be in the outbox, once per channel"

    finished = sync.run()
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
