"""Issue 12, item 3: ``GET /v1/events`` shows the people and series of synced events.

Per provider, items arranged at the provider (Google emulator, Graph emulator, Radicale)
in the shapes the providers document, synced by the engine and read through the API:
attendees (email, display_name, status), ``organizer``, ``participation_status`` from the
account's own entry (``needs_action`` when it has no reply), whether the account may
change it, and ``recurring``/``series_identifier`` with one ``event_uid`` per occurrence.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.graph import DEFAULT_USER as GRAPH_USER
from tests.support.provider_world import (
    DAY,
    GOOGLE_CALENDAR,
    GRAPH_CALENDAR,
    ProviderWorld,
    google_timed,
    graph_timed,
    only,
    provider_world,
    utc,
    wire,
)

__all__ = ["provider_world"]  # the shared fixture, from tests/support/provider_world.py


def graph_person(address: str, name: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


# --------------------------------------------------------------------------- Google


def test_google_invitation_shows_attendees_organizer_and_the_accounts_reply(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(
        GOOGLE_CALENDAR,
        google_timed(
            "invite00001",
            1,
            9,
            organizer={"email": "bob@example.com", "displayName": "Bob"},
            attendees=[
                {
                    "email": "bob@example.com",
                    "displayName": "Bob",
                    "organizer": True,
                    "responseStatus": "accepted",
                },
                {"email": GOOGLE_CALENDAR, "self": True, "responseStatus": "tentative"},
                {"email": "carol@example.com", "responseStatus": "needsAction"},
                {"email": "dan@example.com", "responseStatus": "declined"},
            ],
        ),
    )
    provider_world.sync("google")

    event = only(provider_world.events_of("google"), "invite00001")

    assert event["attendees"] == [
        {"email": "bob@example.com", "display_name": "Bob", "status": "accepted"},
        {"email": GOOGLE_CALENDAR, "display_name": "", "status": "tentative"},
        {"email": "carol@example.com", "display_name": "", "status": "needs_action"},
        {"email": "dan@example.com", "display_name": "", "status": "declined"},
    ]
    assert event["organizer"] == {"email": "bob@example.com", "display_name": "Bob"}
    assert event["participation_status"] == "tentative"
    assert event["options"]["change_participation_status"] is True


def test_google_own_event_is_accepted_and_its_reply_cannot_be_changed(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(GOOGLE_CALENDAR, google_timed("mine000001", 1, 11))
    provider_world.sync("google")

    event = only(provider_world.events_of("google"), "mine000001")

    assert event["attendees"] == []
    assert event["organizer"] == {"email": GOOGLE_CALENDAR, "display_name": ""}
    assert event["participation_status"] == "accepted"
    assert event["options"]["change_participation_status"] is False


def test_google_own_attendee_entry_without_a_reply_needs_action(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(
        GOOGLE_CALENDAR,
        google_timed(
            "noreply0001",
            1,
            13,
            organizer={"email": "bob@example.com"},
            attendees=[{"email": GOOGLE_CALENDAR, "self": True}],
        ),
    )
    provider_world.sync("google")

    event = only(provider_world.events_of("google"), "noreply0001")

    assert event["participation_status"] == "needs_action"
    assert event["attendees"] == [
        {"email": GOOGLE_CALENDAR, "display_name": "", "status": "needs_action"}
    ]


def test_google_sparse_people_do_not_break_the_event(provider_world: ProviderWorld) -> None:
    provider_world.google.put_raw_item(
        GOOGLE_CALENDAR,
        google_timed(
            "sparse00001",
            1,
            15,
            organizer="bob@example.com",
            attendees=[{"displayName": "Room 1", "resource": True}, "nobody", {"email": 7}],
            etag='"raw"',
            status="confirmed",
        ),
    )
    provider_world.sync("google")

    event = only(provider_world.events_of("google"), "sparse00001")

    assert event["attendees"] == []
    assert "organizer" not in event
    assert event["participation_status"] in ("accepted", "needs_action")


def test_google_series_occurrences_have_their_own_uids_and_share_a_series(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(
        GOOGLE_CALENDAR,
        google_timed("weekly00001", 0, 8, recurrence=["RRULE:FREQ=DAILY;COUNT=3"]),
    )
    provider_world.google.put_event(GOOGLE_CALENDAR, google_timed("single00001", 0, 12))
    provider_world.sync("google")

    events = provider_world.events_of("google")
    series = [event for event in events if event["summary"] == "weekly00001"]
    single = only(events, "single00001")

    assert [event["start"] for event in series] == [wire(utc(day, 8)) for day in range(3)]
    assert len({event["event_uid"] for event in series}) == 3
    assert all(event["recurring"] is True for event in series)
    assert len({event["series_identifier"] for event in series}) == 1
    assert single["recurring"] is False and "series_identifier" not in single


def test_google_moved_instance_keeps_the_series_identifier(
    provider_world: ProviderWorld,
) -> None:
    provider_world.google.put_event(
        GOOGLE_CALENDAR,
        google_timed("daily000001", 0, 8, recurrence=["RRULE:FREQ=DAILY;COUNT=2"]),
    )
    original = wire(utc(1, 8)).replace(":", "").replace("-", "")
    provider_world.google.put_event(
        GOOGLE_CALENDAR,
        google_timed(
            f"daily000001_{original}",
            1,
            10,
            summary="daily000001",
            recurringEventId="daily000001",
            originalStartTime={"dateTime": wire(utc(1, 8)), "timeZone": "UTC"},
        ),
    )
    provider_world.sync("google")

    series = [e for e in provider_world.events_of("google") if e["summary"] == "daily000001"]

    assert [event["start"] for event in series] == [wire(utc(0, 8)), wire(utc(1, 10))]
    assert len({event["series_identifier"] for event in series}) == 1
    assert len({event["event_uid"] for event in series}) == 2


# --------------------------------------------------------------------------- Graph


def test_graph_invitation_shows_attendees_organizer_and_the_accounts_reply(
    provider_world: ProviderWorld,
) -> None:
    provider_world.graph.put_event(
        GRAPH_CALENDAR,
        graph_timed(
            "AAMkAGinvite",
            1,
            9,
            isOrganizer=False,
            organizer=graph_person("bob@contoso.com", "Bob"),
            responseStatus={"response": "tentativelyAccepted", "time": "2024-01-01T00:00:00Z"},
            attendees=[
                {
                    "type": "required",
                    "status": {"response": "tentativelyAccepted", "time": "2024-01-01T00:00:00Z"},
                    **graph_person(GRAPH_USER, "Alice"),
                },
                {
                    "type": "optional",
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    **graph_person("carol@contoso.com", "Carol"),
                },
                {
                    "type": "required",
                    "status": {"response": "declined", "time": "2024-01-01T00:00:00Z"},
                    **graph_person("dan@contoso.com", "Dan"),
                },
            ],
        ),
    )
    provider_world.sync("microsoft")

    event = only(provider_world.events_of("microsoft"), "AAMkAGinvite")

    assert event["attendees"] == [
        {"email": GRAPH_USER, "display_name": "Alice", "status": "tentative"},
        {"email": "carol@contoso.com", "display_name": "Carol", "status": "needs_action"},
        {"email": "dan@contoso.com", "display_name": "Dan", "status": "declined"},
    ]
    assert event["organizer"] == {"email": "bob@contoso.com", "display_name": "Bob"}
    assert event["participation_status"] == "tentative"
    assert event["options"]["change_participation_status"] is True


def test_graph_not_responded_invitation_needs_action(provider_world: ProviderWorld) -> None:
    provider_world.graph.put_event(
        GRAPH_CALENDAR,
        graph_timed(
            "AAMkAGpending",
            1,
            11,
            isOrganizer=False,
            organizer=graph_person("bob@contoso.com", "Bob"),
            responseStatus={"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
            attendees=[
                {"type": "required", "status": {"response": "none"}, **graph_person(GRAPH_USER, "")}
            ],
        ),
    )
    provider_world.sync("microsoft")

    event = only(provider_world.events_of("microsoft"), "AAMkAGpending")

    assert event["participation_status"] == "needs_action"
    assert event["attendees"][0]["status"] == "needs_action"


def test_graph_own_meeting_is_accepted_and_cannot_be_replied_to(
    provider_world: ProviderWorld,
) -> None:
    provider_world.graph.put_event(GRAPH_CALENDAR, graph_timed("AAMkAGmine", 1, 13))
    provider_world.sync("microsoft")

    event = only(provider_world.events_of("microsoft"), "AAMkAGmine")

    assert event["participation_status"] == "accepted"
    assert event["organizer"]["email"] == GRAPH_USER
    assert event["options"]["change_participation_status"] is False


def test_graph_sparse_people_do_not_break_the_event(provider_world: ProviderWorld) -> None:
    provider_world.graph.put_event(
        GRAPH_CALENDAR,
        graph_timed(
            "AAMkAGsparse",
            1,
            15,
            organizer={"emailAddress": {}},
            attendees=[{"type": "resource"}, {"emailAddress": None}, "x"],
        ),
    )
    provider_world.sync("microsoft")

    event = only(provider_world.events_of("microsoft"), "AAMkAGsparse")

    assert event["attendees"] == []
    assert "organizer" not in event


def test_graph_series_occurrences_have_their_own_uids_and_share_a_series(
    provider_world: ProviderWorld,
) -> None:
    series = graph_timed("AAMkAGseries", 0, 8)
    series["recurrence"] = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": DAY.isoformat(), "numberOfOccurrences": 3},
    }
    provider_world.graph.put_event(GRAPH_CALENDAR, series)
    provider_world.graph.put_event(GRAPH_CALENDAR, graph_timed("AAMkAGsingle", 0, 12))
    provider_world.sync("microsoft")

    events = provider_world.events_of("microsoft")
    occurrences = [event for event in events if event["summary"] == "AAMkAGseries"]
    single = only(events, "AAMkAGsingle")

    assert len(occurrences) == 3
    assert len({event["event_uid"] for event in occurrences}) == 3
    assert all(event["recurring"] is True for event in occurrences)
    assert len({event["series_identifier"] for event in occurrences}) == 1
    assert single["recurring"] is False and "series_identifier" not in single


# --------------------------------------------------------------------------- CalDAV


def _ical_time(day: int, hour: int) -> str:
    return utc(day, hour).strftime("%Y%m%dT%H%M%SZ")


def test_caldav_invitation_shows_attendees_organizer_and_the_accounts_reply(
    provider_world: ProviderWorld,
) -> None:
    me = f"{provider_world.caldav.user}@example.com"
    provider_world.put_caldav(
        "invite-1",
        f"""
        SUMMARY:caldav invite
        DTSTART:{_ical_time(1, 9)}
        DTEND:{_ical_time(1, 10)}
        ORGANIZER;CN=Bob Builder:mailto:bob@example.com
        ATTENDEE;CN=Bob Builder;PARTSTAT=ACCEPTED:mailto:bob@example.com
        ATTENDEE;CN=Alice;PARTSTAT=TENTATIVE;RSVP=TRUE:mailto:{me}
        ATTENDEE;CN=Carol:mailto:carol@example.com
        ATTENDEE;PARTSTAT=DECLINED:MAILTO:Dan@Example.com
        """,
    )
    provider_world.sync("caldav")

    event = only(provider_world.events_of("caldav"), "caldav invite")

    assert event["attendees"] == [
        {"email": "bob@example.com", "display_name": "Bob Builder", "status": "accepted"},
        {"email": me, "display_name": "Alice", "status": "tentative"},
        {"email": "carol@example.com", "display_name": "Carol", "status": "needs_action"},
        {"email": "Dan@Example.com", "display_name": "", "status": "declined"},
    ]
    assert event["organizer"] == {"email": "bob@example.com", "display_name": "Bob Builder"}
    assert event["participation_status"] == "tentative"
    assert event["options"]["change_participation_status"] is True


def test_caldav_own_attendee_line_without_partstat_needs_action(
    provider_world: ProviderWorld,
) -> None:
    me = f"{provider_world.caldav.user}@example.com"
    provider_world.put_caldav(
        "pending-1",
        f"""
        SUMMARY:caldav pending
        DTSTART:{_ical_time(1, 11)}
        DTEND:{_ical_time(1, 12)}
        ORGANIZER:mailto:bob@example.com
        ATTENDEE:mailto:{me}
        """,
    )
    provider_world.sync("caldav")

    event = only(provider_world.events_of("caldav"), "caldav pending")

    assert event["participation_status"] == "needs_action"
    assert event["organizer"] == {"email": "bob@example.com", "display_name": ""}


def test_caldav_event_without_people_is_the_accounts_own(provider_world: ProviderWorld) -> None:
    provider_world.put_caldav(
        "plain-1",
        f"""
        SUMMARY:caldav plain
        DTSTART:{_ical_time(1, 13)}
        DTEND:{_ical_time(1, 14)}
        """,
    )
    provider_world.sync("caldav")

    event = only(provider_world.events_of("caldav"), "caldav plain")

    assert event["attendees"] == [] and "organizer" not in event
    assert event["participation_status"] == "accepted"
    assert event["options"]["change_participation_status"] is False


def test_caldav_series_occurrences_have_their_own_uids_and_share_a_series(
    provider_world: ProviderWorld,
) -> None:
    provider_world.put_caldav(
        "series-1",
        f"""
        SUMMARY:caldav series
        DTSTART:{_ical_time(0, 8)}
        DTEND:{_ical_time(0, 9)}
        RRULE:FREQ=DAILY;COUNT=3
        """,
    )
    provider_world.sync("caldav")

    series = [e for e in provider_world.events_of("caldav") if e["summary"] == "caldav series"]

    assert [event["start"] for event in series] == [wire(utc(day, 8)) for day in range(3)]
    assert len({event["event_uid"] for event in series}) == 3
    assert all(event["recurring"] is True for event in series)
    assert len({event["series_identifier"] for event in series}) == 1
