"""An in-memory calendar provider for sync-engine tests.

It keeps events per calendar with a change log, serves full and incremental syncs in
pages with resumable cursors, and can be told to fail in the ways real providers do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from providers.base import (
    AuthRevoked,
    CalendarProvider,
    ChangePage,
    CursorExpired,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)


@dataclass
class FakeCalendarState:
    calendar: RemoteCalendar
    events: dict[str, RemoteEvent] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # provider ids in change order


@dataclass
class FakeAccount:
    """The provider side: calendars, their contents and injected faults."""

    calendars: dict[str, FakeCalendarState] = field(default_factory=dict)
    page_size: int = 2
    revoked: bool = False
    expired_cursors: bool = False
    transient_failures: int = 0
    fail_after_pages: int | None = None  # raise TransientError after serving this many pages
    requests: int = 0
    pages_served: int = 0

    def add_calendar(self, calendar_id: str, name: str | None = None) -> None:
        self.calendars[calendar_id] = FakeCalendarState(
            RemoteCalendar(calendar_id, name or calendar_id)
        )

    def put(self, calendar_id: str, event: RemoteEvent) -> None:
        state = self.calendars[calendar_id]
        state.events[event.provider_event_id] = event
        state.log.append(event.provider_event_id)

    def delete(self, calendar_id: str, provider_event_id: str) -> None:
        state = self.calendars[calendar_id]
        state.events.pop(provider_event_id, None)
        state.log.append(provider_event_id)


class FakeProvider(CalendarProvider):
    name = "fake"

    def __init__(self, account: FakeAccount, credentials: dict[str, Any] | None = None) -> None:
        super().__init__(credentials or {})
        self.account = account

    def _request(self) -> None:
        self.account.requests += 1
        if self.account.revoked:
            raise AuthRevoked("invalid_grant")
        if self.account.transient_failures > 0:
            self.account.transient_failures -= 1
            raise TransientError("503 from fake")
        if (
            self.account.fail_after_pages is not None
            and self.account.pages_served >= self.account.fail_after_pages
        ):
            raise TransientError("connection reset by fake")

    def profile_name(self) -> str:
        return "fake@example.com"

    def list_calendars(self) -> list[RemoteCalendar]:
        self._request()
        return [state.calendar for state in self.account.calendars.values()]

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        state = self.account.calendars[calendar.provider_calendar_id]
        position = json.loads(cursor) if cursor else {"full": True, "offset": 0, "mark": None}
        if not position["full"] and self.account.expired_cursors:
            self._request()
            raise CursorExpired("token gone")
        if position["full"]:
            ids = sorted(state.events)
            mark = position["mark"] if position["mark"] is not None else len(state.log)
        else:
            ids = sorted(set(state.log[position["mark"] :]))
            mark = len(state.log)
        offset = position["offset"]
        while True:
            self._request()
            chunk = ids[offset : offset + self.account.page_size]
            offset += len(chunk)
            complete = offset >= len(ids)
            upserts = [replace(state.events[i]) for i in chunk if i in state.events]
            deletions = [i for i in chunk if i not in state.events]
            next_cursor = (
                {"full": False, "offset": 0, "mark": mark}
                if complete
                else {"full": position["full"], "offset": offset, "mark": mark}
            )
            self.account.pages_served += 1
            yield ChangePage(
                upserts=upserts,
                deletions=deletions,
                cursor=json.dumps(next_cursor),
                complete=complete,
                full_sync=position["full"],
            )
            if complete:
                return
