"""Issue 15, defect 4: a full sync interrupted and started again deletes every row it did not see.

CalDAV (and any adapter whose full-sync pages carry no resumable cursor) restarts an
interrupted full sync from the beginning; the rows the interrupted run stamped must not
survive the restarted one when the server deleted them in between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.base import CalendarProvider, ChangePage, RemoteCalendar, RemoteEvent, TransientError
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Event
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile

pytestmark = pytest.mark.store

BASE = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(8), dt.UTC)


class RestartingProvider(CalendarProvider):
    """Full-sync pages of two items whose cursor is None until the last (as CalDAV's)."""

    name = "restarting"

    def __init__(self, events: dict[str, RemoteEvent], fail_after_pages: list[int | None]) -> None:
        super().__init__({})
        self.events = events
        self.fail_after_pages = fail_after_pages

    def profile_name(self) -> str:
        return "restarting"

    def list_calendars(self) -> list[RemoteCalendar]:
        return [RemoteCalendar("work", "Work")]

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        limit = self.fail_after_pages.pop(0) if self.fail_after_pages else None
        if cursor is not None:
            yield ChangePage(cursor="done", complete=True)
            return
        ids = sorted(self.events)
        for page_number, offset in enumerate(range(0, len(ids), 2)):
            if limit is not None and page_number >= limit:
                raise TransientError("connection reset mid full sync")
            chunk = ids[offset : offset + 2]
            last = offset + 2 >= len(ids)
            yield ChangePage(
                upserts=[self.events[i] for i in chunk],
                cursor="done" if last else None,
                complete=last,
                full_sync=True,
            )


def _event(index: int) -> RemoteEvent:
    start = BASE + dt.timedelta(hours=index)
    return RemoteEvent(f"e{index}", start, start + dt.timedelta(minutes=30))


def test_a_restarted_full_sync_deletes_what_the_interrupted_one_stored(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    events = {f"e{i}": _event(i) for i in range(6)}
    provider = RestartingProvider(events, fail_after_pages=[2, None])
    with session_scope(engine) as session:
        application = create_application(session, box, "t").application
        account = create_account(session, application.id, "a@example.com", timezone="Etc/UTC")
        profile_id = create_profile(session, box, account, "restarting", "r", {"t": "t"}).id
    context = SyncContext(engine, settings, box, provider_factory=lambda *_: provider)

    assert sync_profile(context, profile_id).outcome == "transient_error"
    with Session(engine) as session:
        assert set(session.execute(select(Event.provider_event_id)).scalars()) == {
            "e0",
            "e1",
            "e2",
            "e3",
        }
    del events["e0"]  # deleted at the server before the restart
    assert sync_profile(context, profile_id).outcome == "ok"

    with Session(engine) as session:
        stored = set(session.execute(select(Event.provider_event_id)).scalars())
    assert stored == {"e1", "e2", "e3", "e4", "e5"}
