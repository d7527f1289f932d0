"""The official pycronofy SDK, pointed at a real syncd server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import pycronofy
import pytest
from pycronofy.exceptions import PyCronofyRequestError

from providers.base import Attendee, Geo, Organizer
from syncd.api.server import ApiServer
from syncd.scheduling.booking import Invitee, book
from syncd.store.db import session_scope
from tests.contract import cronofy_shapes as shapes
from tests.support.api import NOW, ApiAccount, ApiApplication, ApiWorld

DAY = dt.date(2030, 1, 8)


def at(hour: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def sdk(server: ApiServer, bearer: str) -> pycronofy.Client:
    """A client whose requests go to ``server`` (pycronofy has no base-URL option)."""
    client = pycronofy.Client(access_token=bearer)
    client.request_handler.base_url = server.url
    return client


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account, name="alice@gmail.com")
    api_world.calendar(account, "Work", primary=True, integrated_conferencing=True)
    return account


@pytest.fixture
def bob(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "bob@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    return account


def test_sdk_lists_calendars(api_server: ApiServer, alice: ApiAccount) -> None:
    (calendar,) = sdk(api_server, alice.token).list_calendars()
    assert calendar["calendar_id"] == alice.calendar_ids[0]
    assert calendar["calendar_integrated_conferencing_available"] is True


def test_sdk_lists_profiles(api_server: ApiServer, alice: ApiAccount) -> None:
    (profile,) = sdk(api_server, alice.token).list_profiles()
    assert (profile["profile_name"], profile["sync_status"]) == ("alice@gmail.com", "active")


def test_sdk_reads_userinfo(api_server: ApiServer, alice: ApiAccount) -> None:
    assert sdk(api_server, alice.token).userinfo()["sub"] == alice.id


def test_sdk_reads_free_busy_across_pages(
    api_server: ApiServer, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_server.app.state.free_busy_page_size = 2
    for hour in range(9, 14):
        api_world.event(alice.calendar_ids[0], at(hour), at(hour) + dt.timedelta(minutes=30))
    pages = sdk(api_server, alice.token).read_free_busy(
        calendar_ids=alice.calendar_ids, from_date=DAY, to_date=DAY + dt.timedelta(days=1)
    )
    assert pages.total == 3
    starts = [block["start"] for block in pages.all()]
    assert starts == [at(hour).strftime("%Y-%m-%dT%H:%M:%SZ") for hour in range(9, 14)]


def test_sdk_availability_with_the_api_key_finds_common_free_time(
    api_server: ApiServer,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
    bob: ApiAccount,
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(11))
    api_world.event(bob.calendar_ids[0], at(12), at(17))
    periods = sdk(api_server, tenant.api_key).availability(
        participants=[{"members": [alice.id, bob.id]}],
        required_duration=30,
        available_periods=[{"start": at(9), "end": at(17)}],
    )
    assert periods == [
        {
            "start": "2030-01-08T11:00:00Z",
            "end": "2030-01-08T12:00:00Z",
            "participants": [{"sub": alice.id}, {"sub": bob.id}],
        }
    ]


def test_sdk_availability_slots_with_buffer_and_interval(
    api_server: ApiServer, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(10), at(11))
    slots = sdk(api_server, tenant.api_key).availability(
        participants=[{"members": [{"sub": alice.id}], "required": "all"}],
        required_duration=60,
        available_periods=[{"start": at(9), "end": at(13)}],
        buffer={"after": {"minutes": 0}, "before": {"minutes": 30}},
        start_interval=30,
        response_format="slots",
    )
    assert [(s["start"], s["end"]) for s in slots] == [
        ("2030-01-08T09:00:00Z", "2030-01-08T10:00:00Z"),
        ("2030-01-08T11:30:00Z", "2030-01-08T12:30:00Z"),
    ]


def test_sdk_availability_with_an_account_token_covers_that_account(
    api_server: ApiServer, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(16))
    periods = sdk(api_server, alice.token).availability(
        participants=[{"members": [alice.id]}],
        required_duration=30,
        available_periods=[{"start": at(9), "end": at(17)}],
    )
    assert [(p["start"], p["end"]) for p in periods] == [
        ("2030-01-08T16:00:00Z", "2030-01-08T17:00:00Z")
    ]


def test_sdk_sees_a_422_in_the_cronofy_shape(api_server: ApiServer, tenant: ApiApplication) -> None:
    with pytest.raises(PyCronofyRequestError) as raised:
        sdk(api_server, tenant.api_key).availability(
            participants=[{"members": ["acc_unknown"]}],
            required_duration=30,
            available_periods=[{"start": at(9), "end": at(17)}],
        )
    assert raised.value.response.status_code == 422
    errors = raised.value.response.json()["errors"]
    assert errors["participants[0].members[0].sub"][0]["key"] == "errors.not_found"


def test_sdk_availability_rules_round_trip(api_server: ApiServer, alice: ApiAccount) -> None:
    client = sdk(api_server, alice.token)
    rule = {
        "availability_rule_id": "default",
        "tzid": "Europe/London",
        "calendar_ids": alice.calendar_ids,
        "weekly_periods": [
            {"day": "monday", "start_time": "09:30", "end_time": "12:30"},
            {"day": "monday", "start_time": "14:00", "end_time": "17:00"},
        ],
    }
    assert client.upsert_availability_rule(rule) == rule
    assert client.list_availability_rules() == [rule]
    assert client.get_availability_rule("default") == rule
    client.delete_availability_rule("default")
    assert client.list_availability_rules() == []


def test_sdk_managed_availability_follows_the_rule(
    api_server: ApiServer, tenant: ApiApplication, alice: ApiAccount
) -> None:
    sdk(api_server, alice.token).upsert_availability_rule(
        {
            "availability_rule_id": "default",
            "tzid": "Etc/UTC",
            "weekly_periods": [{"day": "tuesday", "start_time": "10:00", "end_time": "11:00"}],
        }
    )
    periods = sdk(api_server, tenant.api_key).availability(
        participants=[{"members": [{"sub": alice.id, "managed_availability": True}]}],
        required_duration=30,
        available_periods=[{"start": at(9), "end": at(17)}],
    )
    assert [(p["start"], p["end"]) for p in periods] == [
        ("2030-01-08T10:00:00Z", "2030-01-08T11:00:00Z")
    ]


def test_sdk_sequenced_availability(
    api_server: ApiServer, tenant: ApiApplication, alice: ApiAccount, bob: ApiAccount
) -> None:
    sequences = sdk(api_server, tenant.api_key).sequenced_availability(
        sequence=[
            {
                "sequence_id": "interview",
                "ordinal": 1,
                "participants": [{"members": [alice.id]}],
                "required_duration": 60,
            },
            {
                "sequence_id": "debrief",
                "ordinal": 2,
                "participants": [{"members": [bob.id]}],
                "required_duration": 30,
                "buffer": {"before": {"minutes": 15}},
            },
        ],
        available_periods=[{"start": at(9), "end": at(12)}],
    )
    first = sequences[0]["sequence"]
    assert [(s["sequence_id"], s["start"], s["end"]) for s in first] == [
        ("interview", "2030-01-08T09:00:00Z", "2030-01-08T10:00:00Z"),
        ("debrief", "2030-01-08T10:30:00Z", "2030-01-08T11:00:00Z"),
    ]


def sdk_app(server: ApiServer, tenant: ApiApplication) -> pycronofy.Client:
    """pycronofy as an application: ``use_api_key`` calls send the client_secret."""
    client = pycronofy.Client(client_id=tenant.id, client_secret=tenant.api_key)
    client.request_handler.base_url = server.url
    return client


def test_sdk_real_time_scheduling_through_booking_to_completed(
    api_server: ApiServer, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    client = sdk_app(api_server, tenant)
    created = client.real_time_scheduling(
        availability={
            "participants": [{"members": [{"sub": alice.id}], "required": "all"}],
            "required_duration": {"minutes": 30},
            "available_periods": [{"start": at(9), "end": at(12)}],
            "start_interval": {"minutes": 30},
        },
        oauth={"redirect_uri": "https://app.example.com/done"},
        event={"event_id": "rts-1", "summary": "Intro call", "tzid": "Etc/UTC"},
        target_calendars=[{"sub": alice.id, "calendar_id": alice.calendar_ids[0]}],
        minimum_notice={"hours": 1},
        callback_urls={"completed_url": "https://93.184.216.34/rts"},
    )["real_time_scheduling"]
    link_id = created["real_time_scheduling_id"]
    token = created["url"].rsplit("/", 1)[1]
    status = client.get_real_time_scheduling_status(token=token)["real_time_scheduling"]
    assert status["status"] == "open"

    with session_scope(api_world.engine) as session:
        book(session, token, at(10), Invitee("Cara", "cara@example.com"), {}, NOW, 3600)

    done = client.get_real_time_scheduling_status(real_time_scheduling_id=link_id)
    assert done["real_time_scheduling"]["status"] == "completed"
    assert done["real_time_scheduling"]["event"]["start"] == {
        "time": "2030-01-08T10:00:00Z",
        "tzid": "Etc/UTC",
    }
    with pytest.raises(PyCronofyRequestError):
        client.disable_real_time_scheduling_link(link_id, "too late")


def test_sdk_disables_an_open_link(
    api_server: ApiServer, tenant: ApiApplication, alice: ApiAccount
) -> None:
    client = sdk_app(api_server, tenant)
    created = client.real_time_scheduling(
        availability={
            "participants": [{"members": [{"sub": alice.id}]}],
            "required_duration": {"minutes": 30},
            "available_periods": [{"start": at(9), "end": at(12)}],
        },
        oauth={"redirect_uri": "https://app.example.com/done"},
        event={"summary": "Intro call"},
        target_calendars=[{"sub": alice.id, "calendar_id": alice.calendar_ids[0]}],
    )["real_time_scheduling"]
    answer = client.disable_real_time_scheduling_link(
        created["real_time_scheduling_id"], "No longer needed"
    )
    assert answer["real_time_scheduling"]["status"] == "disabled"


def test_sdk_reads_events_with_people_and_series_across_pages(
    api_server: ApiServer, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_server.app.state.events_page_size = 2
    calendar_id = alice.calendar_ids[0]
    api_world.event(
        calendar_id,
        at(9),
        at(10),
        summary="Interview",
        attendees=[Attendee("alice@example.com", "Alice", "accepted", is_self=True)],
        organizer=Organizer("carol@example.com", "Carol"),
        participation_status="accepted",
        can_reply=True,
    )
    api_world.event(
        calendar_id, at(11), at(12), summary="Standup", recurrence=["RRULE:FREQ=DAILY;COUNT=2"]
    )

    pages = sdk(api_server, alice.token).read_events(
        calendar_ids=alice.calendar_ids,
        from_date=DAY,
        to_date=DAY + dt.timedelta(days=5),
        include_managed=False,
    )
    events = list(pages.all())

    for event in events:
        shapes.assert_event(event)
    assert [event["summary"] for event in events] == ["Interview", "Standup", "Standup"]
    assert events[0]["organizer"] == {"email": "carol@example.com", "display_name": "Carol"}
    assert events[0]["attendees"][0]["status"] == "accepted"
    assert events[1]["series_identifier"] == events[2]["series_identifier"]
    assert events[1]["event_uid"] != events[2]["event_uid"]


def test_sdk_reads_deleted_events_with_last_modified_and_include_deleted(
    api_server: ApiServer, api_world: ApiWorld, alice: ApiAccount
) -> None:
    calendar_id = alice.calendar_ids[0]
    api_world.event(calendar_id, at(9), at(10), summary="Cancelled lunch")
    api_world.delete(calendar_id, "evt-1")
    client = sdk(api_server, alice.token)
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    plain = list(client.read_events(last_modified=since, include_managed=False).all())
    changes = list(
        client.read_events(last_modified=since, include_managed=False, include_deleted=True).all()
    )

    assert plain == []
    (tombstone,) = changes
    shapes.assert_event(tombstone)
    assert (tombstone["summary"], tombstone["deleted"]) == ("Cancelled lunch", True)


def test_sdk_notification_channels_round_trip(api_server: ApiServer, alice: ApiAccount) -> None:
    client = sdk(api_server, alice.token)

    channel = client.create_notification_channel(
        "https://93.184.215.14/hook", calendar_ids=alice.calendar_ids, only_managed=True
    )
    listed = client.list_notification_channels()
    client.close_notification_channel(channel["channel_id"])

    shapes.assert_channel(channel)
    assert channel["filters"] == {"calendar_ids": alice.calendar_ids, "only_managed": True}
    assert [c["channel_id"] for c in listed] == [channel["channel_id"]]
    assert client.list_notification_channels() == []


def test_sdk_upserts_and_deletes_a_managed_event(
    api_server: ApiServer, api_world: ApiWorld, alice: ApiAccount
) -> None:
    client = sdk(api_server, alice.token)
    event = {
        "event_id": "py-booking",
        "summary": "Booking",
        "description": "Made by pycronofy",
        "start": at(14),
        "end": at(15),
        "tzid": "Etc/UTC",
    }

    assert client.upsert_event(alice.calendar_ids[0], event) is None
    written = api_world.managed("py-booking")
    assert client.delete_event(alice.calendar_ids[0], "py-booking") is None

    assert (written.state, written.request["start"]) == (
        "pending_write",
        "2030-01-08T14:00:00+00:00",
    )
    assert api_world.managed("py-booking").state == "pending_delete"


def test_sdk_lists_calendars_and_profiles_in_cronofys_shape(
    api_server: ApiServer, alice: ApiAccount
) -> None:
    client = sdk(api_server, alice.token)
    for calendar in client.list_calendars():
        shapes.assert_calendar(calendar)
    for profile in client.list_profiles():
        shapes.assert_profile(profile)
    shapes.assert_userinfo(client.userinfo())


def test_sdk_reads_coordinates_and_localized_free_busy(
    api_server: ApiServer, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(10), location="HQ", geo=Geo(51.5074, -0.1278))
    client = sdk(api_server, alice.token)
    span = {"from_date": DAY, "to_date": DAY + dt.timedelta(days=1), "tzid": "Europe/Paris"}

    (event,) = client.read_events(include_managed=False, include_geo=True, **span).all()
    (block,) = client.read_free_busy(include_managed=False, localized_times=True, **span).all()

    shapes.assert_event(event)
    assert event["location"] == {"description": "HQ", "lat": "51.5074", "long": "-0.1278"}
    shapes.assert_free_busy(block)
    assert block["start"] == {"time": "2030-01-08T10:00:00+01:00", "tzid": "Europe/Paris"}
