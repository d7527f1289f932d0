"""pycronofy's event-writing methods, unchanged, against a real syncd server on 127.0.0.1
whose profiles are the Google and Graph emulators: ``upsert_event`` with attendees and a
rule, ``change_participation_status``, ``create_calendar`` (its duplicate handling reads
Cronofy's 422), ``delete_all_events`` and ``batch``.

Answers are checked against Cronofy's published fixtures (pycronofy's own tests:
``test_batch.py``, ``test_client.py``): 202 with no body for writes, 207 with
``{"batch": [{"status": 202}, …]}``, ``{"calendar": {…}}`` for a created calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pycronofy.batch import BatchBuilder
from pycronofy.exceptions import PyCronofyPartialSuccessError, PyCronofyRequestError
from sqlalchemy import Engine, select

from syncd.conferencing.worker import ManagedEventWorker
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event, ManagedEvent, Profile
from syncd.sync.run import SyncContext, sync_profile
from tests.support.conferencing_live import GOOGLE_CALENDAR, LiveWorld, live_world

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)


@pytest.fixture
def live(engine: Engine, database_url: str, secret_key: str, box: SecretBox) -> Iterator[LiveWorld]:
    with live_world(engine, database_url, secret_key, box, run_daemon=False) as world:
        yield world


def work(live: LiveWorld) -> int:
    return ManagedEventWorker(live.engine, live.settings, live.box).run_due()


def sync(live: LiveWorld) -> None:
    context = SyncContext(live.engine, live.settings, live.box, worker_id="sdk")
    with session_scope(live.engine) as session:
        ids = [profile.id for profile in session.execute(select(Profile)).scalars()]
    for profile_id in ids:
        assert sync_profile(context, profile_id).outcome == "ok"


def event(event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "summary": f"Meeting {event_id}",
        "description": "Agenda to follow.",
        "start": START,
        "end": START + dt.timedelta(minutes=30),
        "tzid": "Etc/UTC",
        **extra,
    }


def state(live: LiveWorld, event_id: str) -> str:
    with session_scope(live.engine) as session:
        return session.execute(
            select(ManagedEvent.state).where(ManagedEvent.event_id == event_id)
        ).scalar_one()


def profile_of(live: LiveWorld, calendar_id: str) -> str:
    with session_scope(live.engine) as session:
        calendar = session.get(Calendar, calendar_id)
        assert calendar is not None
        return calendar.profile_id


def test_upsert_event_with_attendees_and_a_weekly_rule(live: LiveWorld) -> None:
    body = event(
        "weekly",
        attendees={"invite": [{"email": "bob@example.net", "display_name": "Bob"}]},
        recurrence={"rules": [{"frequency": "weekly", "count": 3}]},
        reminders=[{"minutes": 10}],
    )
    assert live.sdk().upsert_event(live.google_calendar, body) is None
    work(live)

    (written,) = [item for item in live.google.stored_items(GOOGLE_CALENDAR) if item.get("summary")]
    assert written["attendees"][0]["email"] == "bob@example.net"
    assert written["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3"]
    pages = live.sdk().read_events(
        from_date=START.date(), to_date=START.date() + dt.timedelta(days=30), tzid="Etc/UTC"
    )
    mine = [e for e in pages.all() if e.get("event_id") == "weekly"]
    assert len(mine) == 3
    assert mine[0]["attendees"][0]["email"] == "bob@example.net"


def test_upsert_event_with_a_field_the_provider_lacks_raises_the_422(live: LiveWorld) -> None:
    body = event("colour", color="#FF0000")
    with pytest.raises(PyCronofyRequestError) as raised:
        live.sdk().upsert_event(live.microsoft_calendar, body)
    errors = raised.value.response.json()["errors"]
    assert errors["color"][0]["key"] == "errors.not_supported"


def test_change_participation_status(live: LiveWorld) -> None:
    live.google.put_event(
        GOOGLE_CALENDAR,
        {
            "id": "invitation1",
            "summary": "Their meeting",
            "start": {"dateTime": START.isoformat()},
            "end": {"dateTime": (START + dt.timedelta(hours=1)).isoformat()},
            "organizer": {"email": "olivia@example.net"},
            "attendees": [{"email": GOOGLE_CALENDAR, "self": True}],
        },
    )
    sync(live)
    with session_scope(live.engine) as session:
        row_id = session.execute(
            select(Event.id).where(Event.provider_event_id == "invitation1")
        ).scalar_one()

    result = live.sdk().change_participation_status(
        live.google_calendar, f"evt_external_{row_id}", "accepted"
    )
    assert result is None
    work(live)
    attendee = live.google.event(GOOGLE_CALENDAR, "invitation1")["attendees"][0]
    assert attendee["responseStatus"] == "accepted"


def test_create_calendar_answers_cronofys_calendar_object(live: LiveWorld) -> None:
    profile_id = profile_of(live, live.google_calendar)
    created = live.sdk().create_calendar(profile_id, "Bookings")
    calendar = created["calendar"]
    assert (calendar["profile_id"], calendar["calendar_name"]) == (profile_id, "Bookings")
    assert calendar["calendar_id"].startswith("cal_")
    listed = [c["calendar_id"] for c in live.sdk().list_calendars()]
    assert calendar["calendar_id"] in listed


def test_create_calendar_duplicate_raises_and_error_on_duplicate_false_returns_it(
    live: LiveWorld,
) -> None:
    profile_id = profile_of(live, live.microsoft_calendar)
    first = live.sdk().create_calendar(profile_id, "Projects")["calendar"]

    with pytest.raises(PyCronofyRequestError) as raised:
        live.sdk().create_calendar(profile_id, "Projects")
    assert raised.value.response.json()["errors"]["name"][0]["key"] == (
        "errors.duplicate_calendar_name"
    )
    again = live.sdk().create_calendar(profile_id, "Projects", error_on_duplicate=False)
    assert again["calendar_id"] == first["calendar_id"]


def test_delete_all_events(live: LiveWorld) -> None:
    client = live.sdk()
    client.upsert_event(live.google_calendar, event("a"))
    client.upsert_event(live.microsoft_calendar, event("b"))
    work(live)

    assert client.delete_all_events() is None
    work(live)

    assert (state(live, "a"), state(live, "b")) == ("deleted", "deleted")


def test_delete_all_events_of_some_calendars(live: LiveWorld) -> None:
    client = live.sdk()
    client.upsert_event(live.google_calendar, event("a"))
    client.upsert_event(live.microsoft_calendar, event("b"))
    work(live)

    client.delete_all_events(calendar_ids=(live.microsoft_calendar,))
    work(live)

    assert (state(live, "a"), state(live, "b")) == ("written", "deleted")


def test_batch_upserts_and_deletes(live: LiveWorld) -> None:
    client = live.sdk()
    client.upsert_event(live.google_calendar, event("old"))
    work(live)
    builder = BatchBuilder()
    builder.upsert_event(live.google_calendar, event("new"))
    builder.delete_event(live.google_calendar, "old")

    result = client.batch(builder)

    assert [entry.status() for entry in result.entries] == [202, 202]
    work(live)
    assert (state(live, "new"), state(live, "old")) == ("written", "deleted")


def test_batch_with_a_failing_entry_raises_partial_success(live: LiveWorld) -> None:
    builder = BatchBuilder()
    builder.upsert_event(live.google_calendar, event("fine"))
    builder.delete_external_event(live.google_calendar, "evt_external_404")

    with pytest.raises(PyCronofyPartialSuccessError) as raised:
        live.sdk().batch(builder)

    entries = raised.value.batch_response.entries
    assert [entry.status() for entry in entries] == [202, 422]
    assert entries[1].response["data"]["errors"]["event_uid"][0]["key"] == "errors.not_found"


def google_invitation(live: LiveWorld, provider_event_id: str) -> str:
    """An invitation from someone else in the Google calendar, synced: its event_uid."""
    live.google.put_event(
        GOOGLE_CALENDAR,
        {
            "id": provider_event_id,
            "summary": "Their meeting",
            "start": {"dateTime": START.isoformat()},
            "end": {"dateTime": (START + dt.timedelta(hours=1)).isoformat()},
            "organizer": {"email": "olivia@example.net"},
            "attendees": [{"email": GOOGLE_CALENDAR, "self": True}],
        },
    )
    sync(live)
    with session_scope(live.engine) as session:
        row_id = session.execute(
            select(Event.id).where(Event.provider_event_id == provider_event_id)
        ).scalar_one()
    return f"evt_external_{row_id}"


def test_upsert_event_by_event_uid_changes_an_event_someone_else_made(live: LiveWorld) -> None:
    uid = google_invitation(live, "external0001")
    later = START + dt.timedelta(hours=5)
    body = {
        "event_uid": uid,
        "summary": "Moved by pycronofy",
        "start": later,
        "end": later + dt.timedelta(hours=1),
        "tzid": "Etc/UTC",
    }

    assert live.sdk().upsert_event(live.google_calendar, body) is None
    assert work(live) == 1

    stored = live.google.event(GOOGLE_CALENDAR, "external0001")
    assert stored["summary"] == "Moved by pycronofy"


def test_delete_external_event_removes_it_at_the_provider(live: LiveWorld) -> None:
    uid = google_invitation(live, "external0002")

    assert live.sdk().delete_external_event(live.google_calendar, uid) is None
    work(live)

    assert live.google.event(GOOGLE_CALENDAR, "external0002").get("status") == "cancelled"
