"""Pages fetched while the engine committed the one before go into one transaction, with the
cursor after the last of them; a crash in that transaction loses and doubles nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.base import ChangePage, RemoteCalendar, RemoteEvent
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event, Occurrence, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

BASE = dt.datetime.combine(dt.date.today() + dt.timedelta(days=3), dt.time(9), dt.UTC)
EVENTS = 10  # five pages of two


class SignallingProvider(FakeProvider):
    """A FakeProvider that says when it has handed over every page of a sync."""

    def __init__(self, account: FakeAccount) -> None:
        super().__init__(account)
        self.all_fetched = threading.Event()

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        yield from super().sync_events(calendar, cursor)
        self.all_fetched.set()


class FirstCommitWaits:
    """An ``on_changed`` hook: the first page's commit waits until every page is fetched
    (so the rest arrive as one batch); the commit after it fails ``failures`` times."""

    def __init__(self, provider: SignallingProvider, failures: int = 0) -> None:
        self.provider = provider
        self.failures = failures
        self.commits = 0

    def __call__(self, session: Session, profile: Profile, ids: set[str], at: dt.datetime) -> None:
        self.commits += 1
        if self.commits == 1:
            assert self.provider.all_fetched.wait(timeout=10)
        elif self.failures:
            self.failures -= 1
            raise RuntimeError("killed in the middle of the batch's transaction")


@pytest.fixture
def remote() -> FakeAccount:
    account = FakeAccount()
    account.add_calendar("work")
    for index in range(EVENTS):
        start = BASE + dt.timedelta(hours=index)
        account.put("work", RemoteEvent(f"e{index}", start, start + dt.timedelta(minutes=30)))
    return account


@pytest.fixture
def profile_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, "tests").application
        account = create_account(session, application.id, "a@example.com", timezone="Etc/UTC")
        return create_profile(session, box, account, "fake", "fake@example.com", {"t": "t"}).id


def context_with(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    provider: FakeProvider,
    hook: FirstCommitWaits,
) -> SyncContext:
    return SyncContext(
        engine, settings, box, worker_id="test", provider_factory=lambda *_: provider,
        on_changed=[hook],
    )  # fmt: skip


def stored(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.execute(select(Event.provider_event_id)).scalars())


def occurrences(engine: Engine) -> int:
    with Session(engine) as session:
        return len(list(session.execute(select(Occurrence.id)).scalars()))


def cursor_offset(engine: Engine) -> dict[str, object]:
    with Session(engine) as session:
        cursor = session.execute(select(Calendar.sync_cursor)).scalar_one()
    assert cursor is not None
    return dict(json.loads(cursor))


def test_pages_fetched_during_a_commit_are_committed_together_with_the_last_cursor(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = SignallingProvider(remote)
    hook = FirstCommitWaits(provider)
    outcome = sync_profile(context_with(engine, settings, box, provider, hook), profile_id)
    assert outcome.outcome == "ok"
    assert hook.commits == 2  # the first page, then the four fetched meanwhile
    assert outcome.pages == 5
    assert outcome.changes == EVENTS
    assert stored(engine) == sorted(f"e{index}" for index in range(EVENTS))
    assert cursor_offset(engine) == {"full": False, "offset": 0, "mark": EVENTS}


def test_a_failed_batch_rolls_back_every_page_in_it_and_the_next_run_resumes_before_them(
    engine: Engine, settings: Settings, box: SecretBox, remote: FakeAccount, profile_id: str
) -> None:
    provider = SignallingProvider(remote)
    hook = FirstCommitWaits(provider, failures=1)
    first = sync_profile(context_with(engine, settings, box, provider, hook), profile_id)
    assert first.outcome == "error"
    assert stored(engine) == ["e0", "e1"]  # only the first page's transaction committed
    assert cursor_offset(engine)["offset"] == 2  # its cursor, not the failed batch's
    again = SignallingProvider(remote)
    second = sync_profile(
        context_with(engine, settings, box, again, FirstCommitWaits(again)), profile_id
    )
    assert second.outcome == "ok"
    assert second.pages == 4  # resumed right after the committed page
    assert stored(engine) == sorted(f"e{index}" for index in range(EVENTS))
    assert occurrences(engine) == EVENTS
