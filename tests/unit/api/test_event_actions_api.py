"""The event endpoints beside the upsert: replies to invitations, delete-all, create a
calendar, batches, and upserts by ``event_uid`` — each through the API, the daemon's job
and the provider (Google and Graph emulators, a real Radicale)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import icalendar
import requests
from sqlalchemy import select

from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event
from tests.support.events_world import (
    CALDAV_EMAIL,
    DAY,
    GOOGLE_CALENDAR,
    GRAPH_CALENDAR,
    World,
    at,
    field_keys,
    graph_world,
    sync_all,
    world,
)
from tests.support.radicale import CalDAVAccount

__all__ = ["graph_world", "world"]

ORGANIZER = "olivia@example.net"


def event_uid_of(world: World, provider_event_id: str) -> str:
    with session_scope(world.engine) as session:
        event = session.execute(
            select(Event).where(Event.provider_event_id == provider_event_id)
        ).scalar_one()
        return f"evt_external_{event.id}"


def google_invitation(world: World, event_id: str = "invite00001") -> str:
    """An event someone else organises, with the account invited; synced."""
    start = dt.datetime.combine(DAY, dt.time(10), dt.UTC)
    world.emulator.put_event(
        GOOGLE_CALENDAR,
        {
            "id": event_id,
            "summary": "Their meeting",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat()},
            "organizer": {"email": ORGANIZER},
            "attendees": [
                {"email": ORGANIZER, "organizer": True, "responseStatus": "accepted"},
                {"email": GOOGLE_CALENDAR, "self": True, "responseStatus": "needsAction"},
            ],
        },
    )
    sync_all(world)
    return event_uid_of(world, event_id)


def reply(world: World, calendar_id: str, event_uid: str, status: str) -> Any:
    return world.client.post(
        f"/v1/calendars/{calendar_id}/events/{event_uid}/participation_status",
        headers=world.auth(),
        json={"status": status},
    )


# --------------------------------------------------------------------------- replies


def test_a_google_reply_sets_the_accounts_own_attendee_status(world: World) -> None:
    uid = google_invitation(world)

    assert reply(world, world.google, uid, "tentative").status_code == 202
    assert world.work() == 1

    attendees = world.emulator.event(GOOGLE_CALENDAR, "invite00001")["attendees"]
    assert [a["responseStatus"] for a in attendees if a.get("self")] == ["tentative"]
    assert [a["responseStatus"] for a in attendees if not a.get("self")] == ["accepted"]
    events = world.read_events().json()["events"]
    assert [e["participation_status"] for e in events if e["event_uid"] == uid] == ["tentative"]


def test_a_reply_to_the_accounts_own_event_is_refused(world: World) -> None:
    world.upsert(world.google)
    world.work()
    own = world.managed("board-meeting").provider_event_id
    assert own is not None
    uid = event_uid_of(world, own)
    assert field_keys(reply(world, world.google, uid, "accepted")) == {
        "event_uid": "errors.not_supported"
    }


def test_a_reply_other_than_accepted_tentative_or_declined_is_refused(world: World) -> None:
    uid = google_invitation(world)
    assert field_keys(reply(world, world.google, uid, "maybe")) == {"status": "errors.invalid"}


def test_a_reply_to_an_unknown_event_is_refused(world: World) -> None:
    assert field_keys(reply(world, world.google, "evt_external_999999", "accepted")) == {
        "event_uid": "errors.not_found"
    }


def test_a_graph_reply_is_sent_with_the_accept_action(graph_world: World) -> None:
    assert graph_world.graph is not None
    start = dt.datetime.combine(DAY, dt.time(10))
    graph_world.graph.put_event(
        GRAPH_CALENDAR,
        {
            "id": "AAMkInvite1",
            "subject": "Their meeting",
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "isOrganizer": False,
            "organizer": {"emailAddress": {"address": ORGANIZER}},
            "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
        },
    )
    sync_all(graph_world)
    uid = event_uid_of(graph_world, "AAMkInvite1")

    assert reply(graph_world, graph_world.microsoft, uid, "accepted").status_code == 202
    graph_world.work()

    item = graph_world.graph.event(GRAPH_CALENDAR, "AAMkInvite1")
    assert item["responseStatus"]["response"] == "accepted"
    assert any(r.path.endswith("/AAMkInvite1/accept") for r in graph_world.graph.requests)


def test_a_caldav_reply_sets_partstat_of_the_accounts_attendee(
    world: World, caldav_account: CalDAVAccount
) -> None:
    start = dt.datetime.combine(DAY, dt.time(10), dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    end = dt.datetime.combine(DAY, dt.time(11), dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    ical = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:invite-1\r\nDTSTAMP:{start}\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:Their meeting\r\nORGANIZER:mailto:{ORGANIZER}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ORGANIZER}\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{CALDAV_EMAIL}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    url = caldav_account.calendar_url.rstrip("/") + "/invite-1.ics"
    auth = (caldav_account.user, "any-password")
    requests.put(url, data=ical, auth=auth, timeout=10).raise_for_status()
    sync_all(world)
    with session_scope(world.engine) as session:
        event = session.execute(
            select(Event).where(Event.provider_event_id.like("%invite-1.ics"))  # type: ignore[attr-defined]
        ).scalar_one()
        uid = f"evt_external_{event.id}"

    assert reply(world, world.caldav, uid, "declined").status_code == 202
    world.work()

    stored = icalendar.Calendar.from_ical(requests.get(url, auth=auth, timeout=10).text)
    attendees = stored.walk("VEVENT")[0]["ATTENDEE"]
    statuses = {str(a).lower(): a.params["PARTSTAT"] for a in attendees}
    assert statuses == {f"mailto:{ORGANIZER}": "ACCEPTED", f"mailto:{CALDAV_EMAIL}": "DECLINED"}


# --------------------------------------------------------------------------- delete all


def delete_all(world: World, **params: Any) -> Any:
    return world.client.request(
        "DELETE", "/v1/events", headers=world.auth(), params=params, json={}
    )


def test_delete_all_deletes_every_managed_event_and_nothing_else(world: World) -> None:
    uid = google_invitation(world)
    world.upsert(world.google, event_id="one")
    world.upsert(world.google, event_id="two", start=at(1, 9), end=at(1, 10))
    world.upsert(world.caldav, event_id="three")
    world.work()

    assert delete_all(world, delete_all="True").status_code == 202
    world.work()

    assert {world.managed(e).state for e in ("one", "two", "three")} == {"deleted"}
    remaining = [e["event_uid"] for e in world.read_events(include_managed="true").json()["events"]]
    assert remaining == [uid]


def test_delete_all_by_calendar_leaves_the_other_calendars(world: World) -> None:
    world.upsert(world.google, event_id="one")
    world.upsert(world.caldav, event_id="three")
    world.work()

    response = delete_all(world, **{"calendar_ids[]": [world.caldav]})
    assert response.status_code == 202
    world.work()

    assert world.managed("one").state == "written"
    assert world.managed("three").state == "deleted"


def test_delete_all_without_a_scope_is_refused(world: World) -> None:
    assert field_keys(delete_all(world)) == {"delete_all": "errors.required"}


def test_delete_all_of_a_calendar_not_the_accounts_is_refused(world: World) -> None:
    keys = field_keys(delete_all(world, **{"calendar_ids[]": ["cal_nothere"]}))
    assert keys == {"calendar_ids": "errors.not_found"}


# --------------------------------------------------------------------------- create calendar


def create(world: World, **body: Any) -> Any:
    return world.client.post("/v1/calendars", headers=world.auth(), json=body)


def profile_of(world: World, calendar_id: str) -> str:
    with session_scope(world.engine) as session:
        calendar = session.get(Calendar, calendar_id)
        assert calendar is not None
        return calendar.profile_id


def test_a_google_calendar_is_created_with_its_colour_and_listed(world: World) -> None:
    response = create(
        world, profile_id=profile_of(world, world.google), name="Bookings", color="#49BED8"
    )

    assert response.status_code == 200, response.text
    created = response.json()["calendar"]
    assert created["calendar_name"] == "Bookings"
    assert created["calendar_readonly"] is False
    entries = world.client.get("/v1/calendars", headers=world.auth()).json()["calendars"]
    assert created["calendar_id"] in [c["calendar_id"] for c in entries]
    listed = world.emulator.requests[-1]
    assert listed.method == "PATCH" and listed.query.get("colorRgbFormat") == ["true"]


def test_a_created_caldav_calendar_syncs_as_the_same_calendar(world: World) -> None:
    profile_id = profile_of(world, world.caldav)
    created = create(world, profile_id=profile_id, name="Bookings").json()["calendar"]

    sync_all(world)

    with session_scope(world.engine) as session:
        names = [
            c.name
            for c in session.execute(select(Calendar).where(Calendar.profile_id == profile_id))
            .scalars()
            .all()
            if not c.deleted
        ]
    assert sorted(names) == ["Bookings", "Work"]
    assert world.upsert(created["calendar_id"], event_id="in-new").status_code == 202
    world.work()
    assert world.managed("in-new").state == "written"


def test_a_duplicate_graph_calendar_name_is_cronofys_duplicate_error(graph_world: World) -> None:
    profile_id = profile_of(graph_world, graph_world.microsoft)
    assert create(graph_world, profile_id=profile_id, name="Projects").status_code == 200

    response = create(graph_world, profile_id=profile_id, name="Projects")
    assert field_keys(response) == {"name": "errors.duplicate_calendar_name"}


def test_a_colour_graph_cannot_store_is_refused(graph_world: World) -> None:
    profile_id = profile_of(graph_world, graph_world.microsoft)
    response = create(graph_world, profile_id=profile_id, name="Red", color="#FF0000")
    assert field_keys(response) == {"color": "errors.not_supported"}


def test_another_accounts_profile_is_not_found(world: World) -> None:
    assert field_keys(create(world, profile_id="pro_nothere", name="X")) == {
        "profile_id": "errors.not_found"
    }


# --------------------------------------------------------------------------- batch


def test_a_batch_runs_each_entry_and_answers_207_with_their_statuses(world: World) -> None:
    world.upsert(world.google, event_id="old")
    world.work()
    calendar = world.google
    entries = [
        {
            "method": "POST",
            "relative_url": f"/v1/calendars/{calendar}/events",
            "data": {
                "event_id": "batched",
                "summary": "Batched",
                "start": at(2, 9),
                "end": at(2, 10),
            },
        },
        {
            "method": "DELETE",
            "relative_url": f"/v1/calendars/{calendar}/events",
            "data": {"event_id": "old"},
        },
        {
            "method": "POST",
            "relative_url": f"/v1/calendars/{calendar}/events",
            "data": {"event_id": "bad"},
        },
        {"method": "POST", "relative_url": "/v1/channels", "data": {}},
    ]

    response = world.client.post("/v1/batch", headers=world.auth(), json={"batch": entries})

    assert response.status_code == 207
    results = response.json()["batch"]
    assert [r["status"] for r in results] == [202, 202, 422, 404]
    assert "data" not in results[0]
    assert set(results[2]["data"]["errors"]) >= {"summary", "start", "end"}
    world.work()
    assert world.managed("batched").state == "written"
    assert world.managed("old").state == "deleted"


def test_a_batch_needs_the_accounts_token(world: World) -> None:
    response = world.client.post(
        "/v1/batch", json={"batch": [{"method": "POST", "relative_url": "/v1/x"}]}
    )
    assert response.status_code == 401


# --------------------------------------------------------------------------- event_uid upserts


def test_an_event_uid_upsert_changes_only_what_it_names(world: World) -> None:
    uid = google_invitation(world, "external0001")
    start = dt.datetime.combine(DAY, dt.time(14), dt.UTC)
    body = {
        "event_uid": uid,
        "summary": "Moved by us",
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reminders": [{"minutes": 10}],
    }
    response = world.post_event(world.google, body)
    assert response.status_code == 202, response.text
    assert world.work() == 1

    stored = world.emulator.event(GOOGLE_CALENDAR, "external0001")
    assert stored["summary"] == "Moved by us"
    assert stored["start"]["dateTime"].startswith(f"{DAY}T14:00:00")
    assert stored["reminders"]["overrides"] == [{"method": "popup", "minutes": 10}]
    assert len(stored["attendees"]) == 2  # the organizer's guest list is untouched
    events = world.read_events().json()["events"]
    assert [e["summary"] for e in events if e["event_uid"] == uid] == ["Moved by us"]


def test_an_event_uid_upsert_may_not_set_attendees(world: World) -> None:
    uid = google_invitation(world, "external0002")
    body = {
        "event_uid": uid,
        "summary": "x",
        "start": at(0, 9),
        "end": at(0, 10),
        "attendees": {"invite": [{"email": "new@example.net"}]},
    }
    response = world.post_event(world.google, body)
    assert field_keys(response) == {"attendees": "errors.not_supported"}


def test_an_upsert_with_both_event_id_and_event_uid_is_refused(world: World) -> None:
    response = world.upsert(world.google, event_uid="evt_external_1")
    assert field_keys(response) == {"event_id": "errors.required"}


def test_a_reserved_event_id_prefix_is_refused(world: World) -> None:
    response = world.upsert(world.google, event_id=f"reply:{uuid.uuid4().hex}")
    assert field_keys(response) == {"event_id": "errors.invalid"}


def test_a_caldav_event_uid_upsert_rewrites_only_the_named_properties(
    world: World, caldav_account: CalDAVAccount
) -> None:
    start = dt.datetime.combine(DAY, dt.time(10), dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    end = dt.datetime.combine(DAY, dt.time(11), dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    ical = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:theirs-1\r\nDTSTAMP:{start}\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "SUMMARY:Theirs\r\nCATEGORIES:Kept\r\n"
        f"ORGANIZER:mailto:{ORGANIZER}\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{ORGANIZER}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    url = caldav_account.calendar_url.rstrip("/") + "/theirs-1.ics"
    auth = (caldav_account.user, "any-password")
    requests.put(url, data=ical, auth=auth, timeout=10).raise_for_status()
    sync_all(world)
    with session_scope(world.engine) as session:
        event = session.execute(
            select(Event).where(Event.provider_event_id.like("%theirs-1.ics"))  # type: ignore[attr-defined]
        ).scalar_one()
        uid = f"evt_external_{event.id}"
    body = {
        "event_uid": uid,
        "summary": "Renamed",
        "start": at(0, 12),
        "end": at(0, 13),
        "url": "https://example.com/b/2",
    }

    response = world.post_event(world.caldav, body)
    assert response.status_code == 202, response.text
    world.work()

    vevent = icalendar.Calendar.from_ical(requests.get(url, auth=auth, timeout=10).text).walk(
        "VEVENT"
    )[0]
    assert str(vevent["SUMMARY"]) == "Renamed"
    assert vevent["DTSTART"].dt == dt.datetime.combine(DAY, dt.time(12), dt.UTC)
    assert str(vevent["URL"]) == "https://example.com/b/2"
    assert str(vevent["ORGANIZER"]) == f"mailto:{ORGANIZER}"
    assert vevent["CATEGORIES"].cats == ["Kept"]
    assert int(vevent["SEQUENCE"]) == 1


def test_a_graph_event_uid_upsert_patches_only_the_named_properties(graph_world: World) -> None:
    assert graph_world.graph is not None
    start = dt.datetime.combine(DAY, dt.time(10))
    graph_world.graph.put_event(
        GRAPH_CALENDAR,
        {
            "id": "AAMkTheirs1",
            "subject": "Theirs",
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "categories": ["Kept"],
        },
    )
    sync_all(graph_world)
    body = {
        "event_uid": event_uid_of(graph_world, "AAMkTheirs1"),
        "summary": "Renamed",
        "start": at(0, 12),
        "end": at(0, 13),
        "event_private": True,
    }
    response = graph_world.post_event(graph_world.microsoft, body)
    assert response.status_code == 202, response.text
    graph_world.work()

    item = graph_world.graph.event(GRAPH_CALENDAR, "AAMkTheirs1")
    assert (item["subject"], item["sensitivity"], item["categories"]) == (
        "Renamed",
        "private",
        ["Kept"],
    )
    (patch,) = [r for r in graph_world.graph.requests if r.method == "PATCH"]
    assert patch.path.endswith("/events/AAMkTheirs1")
