"""CalDAV end to end on two real servers (Radicale and Xandikos): issue 15's defects.

Each test connects a profile to a fresh user on the server, runs the real engine
(``sync_profile``) through the real adapter, and reads the store back.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from providers.caldav.cursor import SyncState
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import read_spans
from syncd.store.models import Calendar, Event
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, SyncOutcome, sync_profile
from tests.support.xandikos import CalDAVUser

pytestmark = pytest.mark.store

ZONE = "Europe/Berlin"
DAY = dt.date.today() + dt.timedelta(days=3)


def at(hour: int, minute: int = 0, day: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY + dt.timedelta(days=day), dt.time(hour, minute), ZoneInfo(ZONE))


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(uid: str, start: dt.datetime, end: dt.datetime, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:{stamp(start)}\r\nDTEND:{stamp(end)}\r\nSUMMARY:{uid}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def connect(engine: Engine, box: SecretBox, user: CalDAVUser, timezone: str = ZONE) -> str:
    with session_scope(engine) as session:
        application = create_application(session, box, f"interop-{user.kind}").application
        account = create_account(
            session, application.id, f"{user.user}@example.com", timezone=timezone
        )
        return create_profile(session, box, account, "caldav", user.user, user.credentials).id


def context(engine: Engine, settings: Settings, box: SecretBox) -> SyncContext:
    tuned = settings.model_copy(update={"http_timeout": 10.0, "calendar_list_interval": 0.001})
    return SyncContext(engine, tuned, box, worker_id="interop")


def run(ctx: SyncContext, profile_id: str) -> SyncOutcome:
    return sync_profile(ctx, profile_id)


def busy(engine: Engine, calendar_name: str | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    with Session(engine) as session:
        query = select(Calendar.id).where(Calendar.deleted == False)  # noqa: E712
        if calendar_name is not None:
            query = query.where(Calendar.name == calendar_name)
        ids = list(session.execute(query).scalars())
        spans = read_spans(
            session,
            ids,
            dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
            dt.datetime.now(dt.UTC) + dt.timedelta(days=60),
            busy_only=True,
        )
    return sorted((s.start.astimezone(dt.UTC), s.end.astimezone(dt.UTC)) for s in spans)


def utc(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return (start.astimezone(dt.UTC), end.astimezone(dt.UTC))


def calendar_rows(engine: Engine) -> dict[str, Calendar]:
    with Session(engine) as session:
        rows = list(session.execute(select(Calendar)).scalars())
        for row in rows:
            session.expunge(row)
    return {row.name: row for row in rows}


# -- defect 1: one item never stops the profile --------------------------------------

SABRE_FLOATING_STAMPS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Sabre//Sabre VObject 4.5.4//EN\r\n"
    "BEGIN:VEVENT\r\nUID:sabre-floating\r\nDTSTAMP:20240501T123000\r\n"
    "LAST-MODIFIED:20240502T080000\r\nCREATED:20240501T123000\r\n"
    "DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Nextcloud export\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_a_floating_dtstamp_neither_loses_its_page_nor_stops_later_calendars(
    engine: Engine, settings: Settings, box: SecretBox, caldav_user: CalDAVUser
) -> None:
    first = caldav_user.make_calendar("a-first", "A first")
    second = caldav_user.make_calendar("b-second", "B second")
    caldav_user.put(
        first,
        "sabre-floating",
        SABRE_FLOATING_STAMPS.format(start=stamp(at(9)), end=stamp(at(10))),
    )
    caldav_user.put(first, "plain", vevent("plain", at(11), at(12)))
    caldav_user.put(second, "later", vevent("later", at(13), at(14)))
    profile_id = connect(engine, box, caldav_user)

    outcome = run(context(engine, settings, box), profile_id)

    assert outcome.outcome == "ok", outcome.detail
    assert busy(engine, "A first") == [utc(at(9), at(10)), utc(at(11), at(12))]
    assert busy(engine, "B second") == [utc(at(13), at(14))]


# -- defect 3: every server's way of refusing a sync-token ---------------------------


def test_an_unknown_sync_token_means_a_full_resync_on_every_server(
    engine: Engine, settings: Settings, box: SecretBox, caldav_user: CalDAVUser
) -> None:
    url = caldav_user.make_calendar("work", "Work")
    caldav_user.put(url, "kept", vevent("kept", at(9), at(10)))
    caldav_user.put(url, "gone", vevent("gone", at(11), at(12)))
    profile_id = connect(engine, box, caldav_user)
    ctx = context(engine, settings, box)
    assert run(ctx, profile_id).outcome == "ok"
    with session_scope(engine) as session:
        (calendar,) = session.execute(select(Calendar)).scalars()
        calendar.sync_cursor = SyncState(mode="sync", token=f"{url}sync/unknown-1").dump()
        session.add(calendar)
    caldav_user.delete(url, "gone")
    caldav_user.put(url, "new", vevent("new", at(15), at(16)))

    outcome = run(ctx, profile_id)

    assert outcome.outcome == "ok", outcome.detail
    assert busy(engine) == [utc(at(9), at(10)), utc(at(15), at(16))]
    assert calendar_rows(engine)["Work"].sync_generation == 2  # resynced in full
    assert run(ctx, profile_id).changes == 0  # and the new token works


# -- defect 2: a calendar deleted at the server ---------------------------------------


def test_a_calendar_deleted_at_the_server_is_marked_deleted_and_emptied_in_the_same_run(
    engine: Engine, settings: Settings, box: SecretBox, caldav_user: CalDAVUser
) -> None:
    kept = caldav_user.make_calendar("kept", "Kept")
    doomed = caldav_user.make_calendar("doomed", "Doomed")
    caldav_user.put(kept, "k", vevent("k", at(9), at(10)))
    caldav_user.put(doomed, "d", vevent("d", at(11), at(12)))
    profile_id = connect(engine, box, caldav_user)
    ctx = SyncContext(engine, settings.model_copy(update={"http_timeout": 10.0}), box)
    assert run(ctx, profile_id).outcome == "ok"
    assert len(busy(engine)) == 2
    caldav_user.delete_calendar(doomed)
    caldav_user.put(kept, "k2", vevent("k2", at(13), at(14)))

    outcome = run(ctx, profile_id)  # the calendar list is not due for an hour

    assert outcome.outcome == "ok", outcome.detail
    assert calendar_rows(engine)["Doomed"].deleted
    assert busy(engine) == [utc(at(9), at(10)), utc(at(13), at(14))]
    with Session(engine) as session:
        doomed_id = calendar_rows(engine)["Doomed"].id
        assert not list(session.execute(select(Event).where(Event.calendar_id == doomed_id)))


# -- defect 7: floating times, one rule -----------------------------------------------


def test_floating_single_and_recurring_events_share_the_account_zone(
    engine: Engine, settings: Settings, box: SecretBox, caldav_user: CalDAVUser
) -> None:
    url = caldav_user.make_calendar("floating", "Floating")
    nine = dt.datetime.combine(DAY, dt.time(9))
    for uid, rule in (("single", ""), ("series", "RRULE:FREQ=DAILY;COUNT=2\r\n")):
        caldav_user.put(
            url,
            uid,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//syncd tests//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
            f"DTSTART:{nine:%Y%m%dT%H%M%S}\r\nDURATION:PT1H\r\n{rule}"
            "END:VEVENT\r\nEND:VCALENDAR\r\n",
        )
    profile_id = connect(engine, box, caldav_user, timezone="America/Chicago")

    assert run(context(engine, settings, box), profile_id).outcome == "ok"

    chicago = ZoneInfo("America/Chicago")
    nine_local = [nine.replace(tzinfo=chicago) + dt.timedelta(days=d) for d in (0, 0, 1)]
    assert busy(engine) == sorted(utc(s, s + dt.timedelta(hours=1)) for s in nine_local)
