"""Pages applied straight to the store (``apply_page``), and the series they are made of:
for tests of what a page writes, without an engine or a provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from providers.base import RemoteEvent
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, apply_page
from syncd.store.models import Calendar
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
#: Tomorrow, 09:00 UTC: where the daily series starts.
FIRST = (NOW + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0)
WINDOW = ExpansionWindow.around(NOW, 30, 60)
HOUR = dt.timedelta(hours=1)


def daily_master() -> RemoteEvent:
    """A daily series of three one-hour instances from FIRST."""
    return RemoteEvent(
        provider_event_id="master",
        start=FIRST,
        end=FIRST + HOUR,
        tzid="UTC",
        recurrence=["RRULE:FREQ=DAILY;COUNT=3"],
    )


def moved_second_instance() -> RemoteEvent:
    """The daily series' second instance, two hours later."""
    original = FIRST + dt.timedelta(days=1)
    return RemoteEvent(
        provider_event_id="master_override",
        start=original + 2 * HOUR,
        end=original + 3 * HOUR,
        tzid="UTC",
        recurring_event_id="master",
        original_start=original,
    )


def apply_pages(
    engine: Engine,
    box: SecretBox,
    calendar_id: str,
    *pages: list[RemoteEvent],
    before: Callable[[Session], None] | None = None,
) -> None:
    """A new calendar ``calendar_id`` (with its tenant and profile), ``before`` run in
    the transaction that made it, then each page applied in a transaction of its own."""
    with session_scope(engine) as session:
        application = create_application(session, box, calendar_id).application
        account = create_account(session, application.id, "a@b.c")
        profile = create_profile(session, box, account, "caldav", "u", {"url": "x"})
        session.add(Calendar(id=calendar_id, profile_id=profile.id, provider_calendar_id="c"))
        if before is not None:
            session.flush()
            before(session)
    for page in pages:
        with session_scope(engine) as session:
            calendar = session.get(Calendar, calendar_id)
            assert calendar is not None
            apply_page(session, calendar, page, [], 1, WINDOW, "UTC")
