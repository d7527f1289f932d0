"""Upserts never drop a field: attendees, reminders, URL, colour, privacy, coordinates and
recurrence reach each provider as it stores them (the Google and Graph emulators, a real
Radicale), or the API refuses them with Cronofy's 422 naming the field."""

from __future__ import annotations

from typing import Any

import icalendar
import requests
from sqlalchemy import select

from syncd.store.db import session_scope
from syncd.store.models import Calendar, Event, Profile
from tests.support.events_world import (
    CALDAV_EMAIL,
    GRAPH_CALENDAR,
    World,
    field_keys,
    graph_world,
    sync_all,
    world,
)
from tests.support.radicale import CalDAVAccount

__all__ = ["graph_world", "world"]

ATTENDEES = {
    "invite": [
        {"email": "bob@example.net", "display_name": "Bob"},
        {"email": "carol@example.net"},
    ]
}
WEEKLY = {"rules": [{"frequency": "weekly", "by_day": ["monday", "thursday"], "count": 4}]}
#: Four weeks on the start's own weekday (a by_day off it would make DTSTART an extra one).
FOUR_WEEKS = {"rules": [{"frequency": "weekly", "count": 4}]}


def caldav_vevent(world: World, caldav_account: CalDAVAccount, event_id: str) -> Any:
    href = world.managed(event_id).provider_event_id
    assert href is not None
    response = requests.get(
        caldav_account.server.url + href,
        auth=(caldav_account.user, "any-password"),
        timeout=10,
    )
    response.raise_for_status()
    return icalendar.Calendar.from_ical(response.text).walk("VEVENT")[0]


# --------------------------------------------------------------------------- Google


def test_google_gets_attendees_invited_with_updates_sent(world: World) -> None:
    assert world.upsert(world.google, attendees=ATTENDEES).status_code == 202
    world.work()

    written = world.google_event("board-meeting")
    assert [(a["email"], a.get("displayName")) for a in written["attendees"]] == [
        ("bob@example.net", "Bob"),
        ("carol@example.net", None),
    ]
    assert {a["responseStatus"] for a in written["attendees"]} == {"needsAction"}
    writes = [r for r in world.emulator.requests if r.method in ("PUT", "POST")]
    assert all(r.query.get("sendUpdates") == ["all"] for r in writes if "/events" in r.path)


def test_google_gets_a_weekly_rule_reminders_url_colour_and_privacy(world: World) -> None:
    world.upsert(
        world.google,
        recurrence=WEEKLY,
        reminders=[{"minutes": 30}, {"minutes": 5}],
        url="https://example.com/bookings/1",
        color="#51B749",
        event_private=True,
    )
    world.work()

    written = world.google_event("board-meeting")
    assert written["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4"]
    assert written["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 30}, {"method": "popup", "minutes": 5}],
    }
    assert written["source"]["url"] == "https://example.com/bookings/1"
    assert written["colorId"] == "10"
    assert written["visibility"] == "private"


def test_google_refuses_coordinates_naming_the_field(world: World) -> None:
    response = world.upsert(
        world.google, location={"description": "HQ", "lat": "51.5", "long": "0"}
    )
    assert field_keys(response) == {"location.lat": "errors.not_supported"}


def test_a_later_upsert_without_attendees_keeps_them_and_remove_takes_one_off(
    world: World,
) -> None:
    world.upsert(world.google, attendees=ATTENDEES)
    world.work()
    world.upsert(world.google, summary="Renamed")
    world.work()
    assert len(world.google_event("board-meeting")["attendees"]) == 2

    world.upsert(world.google, attendees={"remove": [{"email": "bob@example.net"}]})
    world.work()
    written = world.google_event("board-meeting")
    assert [a["email"] for a in written["attendees"]] == ["carol@example.net"]


def test_an_empty_rule_list_makes_a_series_a_single_event_again(world: World) -> None:
    world.upsert(world.google, recurrence=WEEKLY)
    world.work()
    world.upsert(world.google, recurrence={"rules": []})
    world.work()
    assert "recurrence" not in world.google_event("board-meeting")


def test_the_weekly_series_is_read_back_as_its_occurrences(world: World) -> None:
    world.upsert(world.google, recurrence=FOUR_WEEKS)
    world.work()

    events = world.read_events(include_managed="true").json()["events"]
    mine = [event for event in events if event.get("event_id") == "board-meeting"]
    assert len(mine) == 4


def read_back(world: World, event_id: str) -> list[dict[str, Any]]:
    events = world.read_events(include_managed="true").json()["events"]
    return [event for event in events if event.get("event_id") == event_id]


def people(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["email"], a["status"]) for a in event["attendees"]]


def test_google_attendees_and_rule_come_back_in_v1_events(world: World) -> None:
    world.upsert(world.google, attendees=ATTENDEES, recurrence=FOUR_WEEKS)
    world.work()

    occurrences = read_back(world, "board-meeting")
    assert len(occurrences) == 4
    assert all(event["recurring"] for event in occurrences)
    expected = [("bob@example.net", "needs_action"), ("carol@example.net", "needs_action")]
    assert people(occurrences[0]) == expected
    assert occurrences[0]["attendees"][0]["display_name"] == "Bob"


# --------------------------------------------------------------------------- CalDAV


def test_caldav_gets_attendees_organizer_alarms_url_class_geo_and_rule(
    world: World, caldav_account: CalDAVAccount
) -> None:
    response = world.upsert(
        world.caldav,
        attendees=ATTENDEES,
        recurrence=WEEKLY,
        reminders=[{"minutes": 15}],
        url="https://example.com/bookings/1",
        event_private=True,
        color="#FF0000",
        location={"description": "HQ", "lat": "51.5074", "long": "-0.1278"},
    )
    assert response.status_code == 202
    world.work()

    vevent = caldav_vevent(world, caldav_account, "board-meeting")
    assert str(vevent["ORGANIZER"]) == f"mailto:{CALDAV_EMAIL}"
    attendees = vevent["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:bob@example.net", "mailto:carol@example.net"]
    assert attendees[0].params["CN"] == "Bob"
    assert {a.params["PARTSTAT"] for a in attendees} == {"NEEDS-ACTION"}
    assert {a.params["RSVP"] for a in attendees} == {"TRUE"}
    assert vevent["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4;BYDAY=MO,TH"
    assert [str(a["TRIGGER"].to_ical().decode()) for a in vevent.walk("VALARM")] == ["-PT15M"]
    assert str(vevent["URL"]) == "https://example.com/bookings/1"
    assert str(vevent["CLASS"]) == "PRIVATE"
    assert str(vevent["COLOR"]) == "red"
    assert (vevent["GEO"].latitude, vevent["GEO"].longitude) == (51.5074, -0.1278)


def test_caldav_attendees_and_rule_come_back_in_v1_events(world: World) -> None:
    world.upsert(world.caldav, attendees=ATTENDEES, recurrence=FOUR_WEEKS)
    world.work()

    occurrences = read_back(world, "board-meeting")
    assert len(occurrences) == 4
    assert people(occurrences[0]) == [
        ("bob@example.net", "needs_action"),
        ("carol@example.net", "needs_action"),
    ]
    assert occurrences[0]["organizer"]["email"] == CALDAV_EMAIL


# --------------------------------------------------------------------------- Graph


def test_graph_gets_required_attendees_a_reminder_sensitivity_coordinates_and_pattern(
    graph_world: World,
) -> None:
    response = graph_world.upsert(
        graph_world.microsoft,
        attendees=ATTENDEES,
        recurrence=WEEKLY,
        reminders=[{"minutes": 30}, {"minutes": 5}],
        event_private=True,
        location={"description": "HQ", "lat": 51.5, "long": -0.12},
    )
    assert response.status_code == 202, response.text
    graph_world.work()

    assert graph_world.graph is not None
    item = graph_world.graph.event(
        GRAPH_CALENDAR, graph_world.managed("board-meeting").provider_event_id or ""
    )
    assert [(a["emailAddress"]["address"], a["type"]) for a in item["attendees"]] == [
        ("bob@example.net", "required"),
        ("carol@example.net", "required"),
    ]
    assert (item["isReminderOn"], item["reminderMinutesBeforeStart"]) == (True, 30)
    assert item["sensitivity"] == "private"
    assert item["location"]["coordinates"] == {"latitude": 51.5, "longitude": -0.12}
    pattern = item["recurrence"]["pattern"]
    assert (pattern["type"], pattern["daysOfWeek"]) == ("weekly", ["monday", "thursday"])
    assert item["recurrence"]["range"]["numberOfOccurrences"] == 4


def test_graph_attendees_and_rule_come_back_in_v1_events_once(graph_world: World) -> None:
    graph_world.upsert(graph_world.microsoft, attendees=ATTENDEES, recurrence=FOUR_WEEKS)
    graph_world.work()
    written = read_back(graph_world, "board-meeting")

    sync_all(graph_world)  # Graph lists the series as its occurrences, each an item

    synced = read_back(graph_world, "board-meeting")
    events = graph_world.read_events(include_managed="true").json()["events"]
    assert len(written) == len(synced) == len(events) == 4
    assert [e["start"] for e in written] == [e["start"] for e in synced]
    assert [a["email"] for a in synced[0]["attendees"]] == [
        "bob@example.net",
        "carol@example.net",
    ]


def test_deleting_a_synced_graph_series_deletes_every_occurrence(graph_world: World) -> None:
    graph_world.upsert(graph_world.microsoft, recurrence=FOUR_WEEKS)
    graph_world.work()
    sync_all(graph_world)

    graph_world.delete(graph_world.microsoft, event_id="board-meeting")
    graph_world.work()

    assert graph_world.read_events(include_managed="true").json()["events"] == []
    assert graph_world.graph is not None
    assert graph_world.graph.served_items(GRAPH_CALENDAR) == []


def test_graph_refuses_a_url_and_a_colour_naming_them(graph_world: World) -> None:
    response = graph_world.upsert(
        graph_world.microsoft, url="https://example.com/b/1", color="#FF0000"
    )
    assert field_keys(response) == {"url": "errors.not_supported", "color": "errors.not_supported"}


def test_graph_writes_a_monthly_rule_on_the_starts_day_of_month(graph_world: World) -> None:
    rules = {"rules": [{"frequency": "monthly", "count": 3}]}
    assert graph_world.upsert(graph_world.microsoft, recurrence=rules).status_code == 202
    graph_world.work()
    assert graph_world.graph is not None
    item = graph_world.graph.event(
        GRAPH_CALENDAR, graph_world.managed("board-meeting").provider_event_id or ""
    )
    with session_scope(graph_world.engine) as session:
        assert session.get(Calendar, graph_world.microsoft) is not None
    assert item["recurrence"]["pattern"]["type"] == "absoluteMonthly"
    assert item["recurrence"]["pattern"]["dayOfMonth"] == int(item["start"]["dateTime"][8:10])


# --------------------------------------------------------------------------- shapes


def test_malformed_fields_are_422s_naming_each(world: World) -> None:
    response = world.upsert(
        world.google,
        attendees={"invite": [{"email": "not-an-address"}]},
        reminders=[{"minutes": 50000}],
        url="ftp://example.com/x",
        color="red",
        recurrence={"rules": [{"frequency": "hourly"}]},
    )
    keys = field_keys(response)
    assert set(keys) == {
        "attendees.invite[0].email",
        "reminders[0].minutes",
        "url",
        "color",
        "recurrence.rules[0].frequency",
    }


def test_an_unknown_key_in_a_rule_is_refused_not_dropped(world: World) -> None:
    rules = {"rules": [{"frequency": "weekly", "by_month_day": [3]}]}
    assert "recurrence.rules[0].by_month_day" in field_keys(
        world.upsert(world.google, recurrence=rules)
    )


def test_a_latitude_out_of_range_is_refused(world: World) -> None:
    response = world.upsert(world.caldav, location={"lat": "91", "long": "0"})
    assert field_keys(response) == {"location.lat": "errors.out_of_range"}


def test_attachments_are_refused_as_not_supported(world: World) -> None:
    response = world.upsert(world.google, attachments=[{"attachment_id": "att_1"}])
    assert field_keys(response) == {"attachments": "errors.not_supported"}


def test_caldav_coordinates_come_back_with_include_geo(world: World) -> None:
    world.upsert(world.caldav, location={"description": "HQ", "lat": "51.5074", "long": "-0.1278"})
    world.work()
    sync_all(world)

    (event,) = [
        e
        for e in world.read_events(include_managed="true", include_geo="true").json()["events"]
        if e.get("event_id") == "board-meeting"
    ]
    assert event["location"] == {"description": "HQ", "lat": "51.5074", "long": "-0.1278"}


def test_graph_coordinates_synced_back_are_stored_on_the_item(graph_world: World) -> None:
    graph_world.upsert(
        graph_world.microsoft, location={"description": "HQ", "lat": 51.5, "long": -0.12}
    )
    graph_world.work()
    sync_all(graph_world)

    with session_scope(graph_world.engine) as session:
        (item,) = session.execute(
            select(Event).where(Event.calendar_id == graph_world.microsoft)
        ).scalars()
        assert item.geo == {"latitude": 51.5, "longitude": -0.12}


def without_caldav_email(world: World) -> None:
    """The CalDAV profile as connected with a username that is no e-mail address and no
    ``email``: nothing to be ORGANIZER with."""
    with session_scope(world.engine) as session:
        calendar = session.get(Calendar, world.caldav)
        assert calendar is not None
        profile = session.get(Profile, calendar.profile_id)
        assert profile is not None
        credentials = world.box.decrypt(profile.credentials_encrypted)
        credentials.pop("email", None)
        assert "@" not in credentials["username"]
        profile.credentials_encrypted = world.box.encrypt(credentials)
        session.add(profile)


def test_caldav_attendees_without_an_account_address_are_a_422_at_the_api(world: World) -> None:
    without_caldav_email(world)

    response = world.upsert(world.caldav, attendees=ATTENDEES)

    assert field_keys(response) == {"attendees.invite": "errors.not_supported"}
    assert world.work() == 0  # nothing was queued to fail at write time


def test_caldav_without_an_account_address_still_takes_the_other_fields(world: World) -> None:
    without_caldav_email(world)

    response = world.upsert(world.caldav, url="https://example.com/b/1", recurrence=FOUR_WEEKS)

    assert response.status_code == 202, response.text
