"""The ``cronofy`` npm SDK's event-writing methods, unchanged, against a real syncd server
on 127.0.0.1 whose profiles are the Google and Graph emulators: the same calls the
pycronofy suite makes (tests/contract/test_api_sdk_events.py) through Node.

``createEvent`` with attendees and a rule, ``updateExternalEvent`` (an ``event_uid``
upsert), ``deleteExternalEvent``, ``createCalendar`` (and Cronofy's 422 on a duplicate
name), ``bulkDeleteEvents`` (all, or by ``calendar_ids``) and ``batch``; the npm SDK has
no participation-status method, so the reply goes as a ``batch`` entry, as a Node
application sends it. Answers are checked against Cronofy's published shapes: 202 with no
body (the SDK resolves ``""``), 207 ``{"batch": [{"status": …}]}``, ``{"calendar": {…}}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from syncd.conferencing.worker import ManagedEventWorker
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event, ManagedEvent, Profile
from syncd.sync.run import SyncContext, sync_profile
from tests.contract import cronofy_shapes as shapes
from tests.support.conferencing_live import GOOGLE_CALENDAR, LiveWorld, live_world
from tests.support.sdk_js import JsRunner, cronofy_js, js_call

__all__ = ["cronofy_js"]  # the shared fixture, from tests/support/sdk_js.py

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)


@pytest.fixture
def live(engine: Engine, database_url: str, secret_key: str, box: SecretBox) -> Iterator[LiveWorld]:
    with live_world(engine, database_url, secret_key, box, run_daemon=False) as world:
        yield world


def work(live: LiveWorld) -> int:
    return ManagedEventWorker(live.engine, live.settings, live.box).run_due()


def sync(live: LiveWorld) -> None:
    context = SyncContext(live.engine, live.settings, live.box, worker_id="sdk-js")
    with session_scope(live.engine) as session:
        ids = [profile.id for profile in session.execute(select(Profile)).scalars()]
    for profile_id in ids:
        assert sync_profile(context, profile_id).outcome == "ok"


def wire(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(calendar_id: str, event_id: str, **extra: Any) -> dict[str, Any]:
    """``createEvent``'s one argument: the upsert body plus the path's ``calendar_id``."""
    return {
        "calendar_id": calendar_id,
        "event_id": event_id,
        "summary": f"Meeting {event_id}",
        "description": "Agenda to follow.",
        "start": wire(START),
        "end": wire(START + dt.timedelta(minutes=30)),
        "tzid": "Etc/UTC",
        **extra,
    }


def run(live: LiveWorld, cronofy_js: JsRunner, *calls: dict[str, Any]) -> dict[str, Any]:
    assert live.server is not None
    return cronofy_js(live.server.url, list(calls))


def me(live: LiveWorld) -> dict[str, str]:
    return {"access_token": live.token}


def ok(results: dict[str, Any], name: str) -> Any:
    result = results[name]
    assert result["ok"], f"{name}: {result}"
    return result["value"]


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
            "attendees": [
                {"email": "olivia@example.net", "responseStatus": "accepted"},
                {"email": GOOGLE_CALENDAR, "self": True},
            ],
        },
    )
    sync(live)
    with session_scope(live.engine) as session:
        row_id = session.execute(
            select(Event.id).where(Event.provider_event_id == provider_event_id)
        ).scalar_one()
    return f"evt_external_{row_id}"


def test_js_create_event_with_attendees_and_a_weekly_rule(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    body = event(
        live.google_calendar,
        "weekly",
        attendees={"invite": [{"email": "bob@example.net", "display_name": "Bob"}]},
        recurrence={"rules": [{"frequency": "weekly", "count": 3}]},
        reminders=[{"minutes": 10}],
    )
    created = run(live, cronofy_js, js_call("create", "createEvent", config=me(live), options=body))
    assert created["create"] == {"ok": True, "value": ""}  # 202, empty body
    work(live)

    (written,) = [item for item in live.google.stored_items(GOOGLE_CALENDAR) if item.get("summary")]
    assert written["attendees"][0]["email"] == "bob@example.net"
    assert written["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3"]
    read = run(
        live,
        cronofy_js,
        js_call(
            "events",
            "readEvents",
            config=me(live),
            options={
                "tzid": "Etc/UTC",
                "from": START.date().isoformat(),
                "to": (START.date() + dt.timedelta(days=30)).isoformat(),
                "include_managed": True,
            },
            pages=True,
        ),
    )
    mine = [
        e for page in ok(read, "events") for e in page["events"] if e.get("event_id") == "weekly"
    ]
    for occurrence in mine:
        shapes.assert_event(occurrence)
    assert len(mine) == 3
    assert mine[0]["attendees"][0]["email"] == "bob@example.net"


def test_js_create_event_with_a_field_the_provider_lacks_is_the_422(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    body = event(live.microsoft_calendar, "colour", color="#FF0000")
    results = run(live, cronofy_js, js_call("create", "createEvent", config=me(live), options=body))

    failure = results["create"]
    assert (failure["ok"], failure["status"]) == (False, 422)
    assert shapes.assert_field_errors(failure["body"], "color") == "errors.not_supported"


def test_js_update_external_event_changes_an_event_someone_else_made(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    uid = google_invitation(live, "external0001")
    later = START + dt.timedelta(hours=5)
    body = {
        "calendar_id": live.google_calendar,
        "event_uid": uid,
        "summary": "Moved by Node",
        "start": wire(later),
        "end": wire(later + dt.timedelta(hours=1)),
    }

    results = run(
        live, cronofy_js, js_call("update", "updateExternalEvent", config=me(live), options=body)
    )

    assert results["update"] == {"ok": True, "value": ""}
    assert work(live) == 1
    stored = live.google.event(GOOGLE_CALENDAR, "external0001")
    assert stored["summary"] == "Moved by Node"
    assert len(stored["attendees"]) == 2  # the organizer's guest list is untouched


def test_js_delete_external_event_removes_it_at_the_provider(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    uid = google_invitation(live, "external0002")
    options = {"calendar_id": live.google_calendar, "event_uid": uid}

    results = run(
        live, cronofy_js, js_call("delete", "deleteExternalEvent", config=me(live), options=options)
    )

    assert results["delete"] == {"ok": True, "value": ""}
    work(live)
    assert live.google.event(GOOGLE_CALENDAR, "external0002").get("status") == "cancelled"


def test_js_create_calendar_answers_cronofys_calendar_object(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    profile_id = profile_of(live, live.google_calendar)
    options = {"profile_id": profile_id, "name": "Bookings"}

    results = run(
        live,
        cronofy_js,
        js_call("create", "createCalendar", config=me(live), options=options),
        js_call("list", "listCalendars", config=me(live)),
    )

    calendar = ok(results, "create")["calendar"]
    shapes.assert_calendar(calendar)
    assert (calendar["profile_id"], calendar["calendar_name"]) == (profile_id, "Bookings")
    listed = [c["calendar_id"] for c in ok(results, "list")["calendars"]]
    assert calendar["calendar_id"] in listed


def test_js_create_calendar_with_a_duplicate_name_is_cronofys_422(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    options = {"profile_id": profile_of(live, live.microsoft_calendar), "name": "Projects"}

    results = run(
        live,
        cronofy_js,
        js_call("first", "createCalendar", config=me(live), options=options),
        js_call("again", "createCalendar", config=me(live), options=options),
    )

    assert ok(results, "first")["calendar"]["calendar_name"] == "Projects"
    failure = results["again"]
    assert (failure["ok"], failure["status"]) == (False, 422)
    assert shapes.assert_field_errors(failure["body"], "name") == "errors.duplicate_calendar_name"


def test_js_bulk_delete_events_deletes_every_managed_event(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    run(
        live,
        cronofy_js,
        js_call("a", "createEvent", config=me(live), options=event(live.google_calendar, "a")),
        js_call("b", "createEvent", config=me(live), options=event(live.microsoft_calendar, "b")),
    )
    work(live)

    results = run(
        live,
        cronofy_js,
        js_call("all", "bulkDeleteEvents", config=me(live), options={"delete_all": True}),
    )

    assert results["all"] == {"ok": True, "value": ""}
    work(live)
    assert (state(live, "a"), state(live, "b")) == ("deleted", "deleted")


def test_js_bulk_delete_events_of_some_calendars(live: LiveWorld, cronofy_js: JsRunner) -> None:
    run(
        live,
        cronofy_js,
        js_call("a", "createEvent", config=me(live), options=event(live.google_calendar, "a")),
        js_call("b", "createEvent", config=me(live), options=event(live.microsoft_calendar, "b")),
    )
    work(live)

    results = run(
        live,
        cronofy_js,
        js_call(
            "some",
            "bulkDeleteEvents",
            config=me(live),
            options={"calendar_ids": [live.microsoft_calendar]},
        ),
    )

    assert results["some"] == {"ok": True, "value": ""}
    work(live)
    assert (state(live, "a"), state(live, "b")) == ("written", "deleted")


def test_js_batch_upserts_deletes_and_replies(live: LiveWorld, cronofy_js: JsRunner) -> None:
    run(
        live,
        cronofy_js,
        js_call("old", "createEvent", config=me(live), options=event(live.google_calendar, "old")),
    )
    work(live)
    uid = google_invitation(live, "invitation1")
    events = f"/v1/calendars/{live.google_calendar}/events"
    new = {k: v for k, v in event(live.google_calendar, "new").items() if k != "calendar_id"}
    batch = {
        "batch": [
            {"method": "POST", "relative_url": events, "data": new},
            {"method": "DELETE", "relative_url": events, "data": {"event_id": "old"}},
            {
                "method": "POST",
                "relative_url": f"{events}/{uid}/participation_status",
                "data": {"status": "accepted"},
            },
        ]
    }

    results = run(live, cronofy_js, js_call("batch", "batch", config=me(live), options=batch))

    assert ok(results, "batch") == {"batch": [{"status": 202}, {"status": 202}, {"status": 202}]}
    work(live)
    assert (state(live, "new"), state(live, "old")) == ("written", "deleted")
    attendee = live.google.event(GOOGLE_CALENDAR, "invitation1")["attendees"][1]
    assert attendee["responseStatus"] == "accepted"


def test_js_batch_entry_that_fails_carries_its_own_422(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    events = f"/v1/calendars/{live.google_calendar}/events"
    fine = {k: v for k, v in event(live.google_calendar, "fine").items() if k != "calendar_id"}
    batch = {
        "batch": [
            {"method": "POST", "relative_url": events, "data": fine},
            {
                "method": "DELETE",
                "relative_url": events,
                "data": {"event_uid": "evt_external_404"},
            },
        ]
    }

    results = run(live, cronofy_js, js_call("batch", "batch", config=me(live), options=batch))

    first, second = ok(results, "batch")["batch"]
    assert first == {"status": 202}
    assert second["status"] == 422
    assert shapes.assert_field_errors(second["data"], "event_uid") == "errors.not_found"


def test_js_conferencing_service_authorizations_links_to_the_providers_consent(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    options = {"redirect_uri": "https://app.example.com/conferencing/done", "provider_name": "zoom"}

    results = run(
        live,
        cronofy_js,
        js_call("link", "conferencingServiceAuthorizations", config=me(live), options=options),
    )

    url = ok(results, "link")["authorization_request"]["url"]
    assert url.startswith(live.zoom.authorize_url)
