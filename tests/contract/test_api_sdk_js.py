"""The official ``cronofy`` npm SDK (3.8.4, pinned in tests/sdk_js/package-lock.json),
pointed at a real syncd server on 127.0.0.1: the same calls the pycronofy suite makes
(tests/contract/test_api_sdk.py), through Node, answers checked against Cronofy's shapes
(tests/contract/cronofy_shapes.py). How to add a call: tests/sdk_js/README.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from providers.base import Attendee, Geo, Organizer
from syncd.api.server import ApiServer
from tests.contract import cronofy_shapes as shapes
from tests.support.api import ApiAccount, ApiApplication, ApiWorld
from tests.support.sdk_js import JsRunner, cronofy_js, js_call

__all__ = ["cronofy_js"]  # the shared fixture, from tests/support/sdk_js.py

DAY = dt.date(2030, 1, 8)


def at(hour: int, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def wire(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


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


def ok(results: dict[str, Any], name: str) -> Any:
    result = results[name]
    assert result["ok"], f"{name}: {result}"
    return result["value"]


def as_account(account: ApiAccount) -> dict[str, str]:
    return {"access_token": account.token}


def as_application(application: ApiApplication) -> dict[str, str]:
    return {"access_token": application.api_key}


def test_js_sdk_lists_calendars_profiles_and_userinfo(
    api_server: ApiServer, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    me = as_account(alice)
    results = cronofy_js(
        api_server.url,
        [
            js_call("calendars", "listCalendars", config=me),
            js_call("profiles", "profileInformation", config=me),
            js_call("userinfo", "userInfo", config=me),
        ],
    )

    (calendar,) = ok(results, "calendars")["calendars"]
    shapes.assert_calendar(calendar)
    assert calendar["calendar_id"] == alice.calendar_ids[0]
    assert calendar["calendar_integrated_conferencing_available"] is True
    (profile,) = ok(results, "profiles")["profiles"]
    shapes.assert_profile(profile)
    assert (profile["profile_name"], profile["sync_status"]) == ("alice@gmail.com", "active")
    userinfo = ok(results, "userinfo")
    shapes.assert_userinfo(userinfo)
    assert userinfo["sub"] == alice.id


def test_js_sdk_reads_events_with_people_and_series_across_pages(
    api_server: ApiServer, api_world: ApiWorld, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    api_server.app.state.events_page_size = 2
    calendar_id = alice.calendar_ids[0]
    api_world.event(
        calendar_id,
        at(9),
        at(10),
        summary="Interview",
        attendees=[
            Attendee("alice@example.com", "Alice", "tentative", is_self=True),
            Attendee("carol@example.com", "Carol", "needs_action"),
        ],
        organizer=Organizer("carol@example.com", "Carol"),
        participation_status="tentative",
        can_reply=True,
    )
    api_world.event(
        calendar_id, at(11), at(12), summary="Standup", recurrence=["RRULE:FREQ=DAILY;COUNT=2"]
    )

    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "events",
                "readEvents",
                config=as_account(alice),
                options={
                    "tzid": "Etc/UTC",
                    "from": "2030-01-07",
                    "to": "2030-01-14",
                    "calendar_ids": [calendar_id],
                },
                pages=True,
            )
        ],
    )

    pages = ok(results, "events")
    events = [event for page in pages for event in page["events"]]
    for page in pages:
        shapes.assert_pages(page["pages"], api_server.url, "events")
    for event in events:
        shapes.assert_event(event)
    assert [page["pages"]["current"] for page in pages] == [1, 2]
    interview, *standups = events
    assert interview["attendees"] == [
        {"email": "alice@example.com", "display_name": "Alice", "status": "tentative"},
        {"email": "carol@example.com", "display_name": "Carol", "status": "needs_action"},
    ]
    assert interview["organizer"] == {"email": "carol@example.com", "display_name": "Carol"}
    assert interview["participation_status"] == "tentative"
    assert interview["options"]["change_participation_status"] is True
    assert [event["start"] for event in standups] == [
        wire(at(11)),
        wire(at(11, DAY + dt.timedelta(days=1))),
    ]
    assert len({event["event_uid"] for event in standups}) == 2
    assert len({event["series_identifier"] for event in standups}) == 1


def test_js_sdk_sees_deleted_events_with_include_deleted(
    api_server: ApiServer, api_world: ApiWorld, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    calendar_id = alice.calendar_ids[0]
    api_world.event(calendar_id, at(9), at(10), summary="Cancelled lunch")
    api_world.delete(calendar_id, "evt-1")
    query = {"tzid": "Etc/UTC", "last_modified": "2000-01-01T00:00:00Z"}

    results = cronofy_js(
        api_server.url,
        [
            js_call("plain", "readEvents", config=as_account(alice), options=query),
            js_call(
                "deleted",
                "readEvents",
                config=as_account(alice),
                options={**query, "include_deleted": True},
            ),
        ],
    )

    assert ok(results, "plain")["events"] == []
    (tombstone,) = ok(results, "deleted")["events"]
    shapes.assert_event(tombstone)
    assert (tombstone["summary"], tombstone["deleted"]) == ("Cancelled lunch", True)


def test_js_sdk_reads_free_busy_across_pages(
    api_server: ApiServer, api_world: ApiWorld, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    api_server.app.state.free_busy_page_size = 2
    for hour in range(9, 14):
        api_world.event(alice.calendar_ids[0], at(hour), at(hour) + dt.timedelta(minutes=30))

    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "free_busy",
                "freeBusy",
                config=as_account(alice),
                options={"tzid": "Etc/UTC", "from": "2030-01-08", "to": "2030-01-09"},
                pages=True,
            )
        ],
    )

    pages = ok(results, "free_busy")
    blocks = [block for page in pages for block in page["free_busy"]]
    for page in pages:
        shapes.assert_pages(page["pages"], api_server.url, "free_busy")
    for block in blocks:
        shapes.assert_free_busy(block)
    assert [block["start"] for block in blocks] == [wire(at(hour)) for hour in range(9, 14)]


def test_js_sdk_availability_and_sequenced_availability(
    api_server: ApiServer,
    api_world: ApiWorld,
    cronofy_js: JsRunner,
    tenant: ApiApplication,
    alice: ApiAccount,
    bob: ApiAccount,
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(11))
    api_world.event(bob.calendar_ids[0], at(12), at(17))
    period = {"start": wire(at(9)), "end": wire(at(17))}

    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "availability",
                "availability",
                config=as_application(tenant),
                options={
                    "participants": [
                        {"members": [{"sub": alice.id}, {"sub": bob.id}], "required": "all"}
                    ],
                    "required_duration": {"minutes": 30},
                    "query_periods": [period],
                },
            ),
            js_call(
                "sequenced",
                "sequencedAvailability",
                config=as_application(tenant),
                options={
                    "sequence": [
                        {
                            "sequence_id": "interview",
                            "ordinal": 1,
                            "participants": [{"members": [{"sub": alice.id}], "required": "all"}],
                            "required_duration": {"minutes": 60},
                        }
                    ],
                    "query_periods": [period],
                },
            ),
        ],
    )

    assert ok(results, "availability")["available_periods"] == [
        {
            "start": "2030-01-08T11:00:00Z",
            "end": "2030-01-08T12:00:00Z",
            "participants": [{"sub": alice.id}, {"sub": bob.id}],
        }
    ]
    (first, *_) = ok(results, "sequenced")["sequences"]
    assert first["sequence"][0]["sequence_id"] == "interview"
    assert first["sequence"][0]["start"] == "2030-01-08T11:00:00Z"


def test_js_sdk_availability_rules_round_trip(
    api_server: ApiServer, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    rule = {
        "availability_rule_id": "default",
        "tzid": "Europe/London",
        "calendar_ids": alice.calendar_ids,
        "weekly_periods": [{"day": "monday", "start_time": "09:30", "end_time": "12:30"}],
    }
    me = as_account(alice)

    results = cronofy_js(
        api_server.url,
        [
            js_call("upsert", "upsertAvailabilityRule", config=me, options=rule),
            js_call("list", "listAvailabilityRules", config=me),
            js_call(
                "read",
                "readAvailabilityRule",
                config=me,
                options={"availability_rule_id": "default"},
            ),
            js_call(
                "delete",
                "deleteAvailabilityRule",
                config=me,
                options={"availability_rule_id": "default"},
            ),
            js_call("after", "listAvailabilityRules", config=me),
        ],
    )

    assert ok(results, "upsert")["availability_rule"] == rule
    assert ok(results, "list")["availability_rules"] == [rule]
    assert ok(results, "read")["availability_rule"] == rule
    assert results["delete"]["ok"]
    assert ok(results, "after")["availability_rules"] == []


def test_js_sdk_notification_channels_round_trip(
    api_server: ApiServer, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    me = as_account(alice)
    created = cronofy_js(
        api_server.url,
        [
            js_call(
                "create",
                "createNotificationChannel",
                config=me,
                options={
                    "callback_url": "https://93.184.215.14/hook",
                    "filters": {"calendar_ids": alice.calendar_ids, "only_managed": True},
                },
            ),
        ],
    )
    channel = ok(created, "create")["channel"]
    shapes.assert_channel(channel)

    results = cronofy_js(
        api_server.url,
        [
            js_call("list", "listNotificationChannels", config=me),
            js_call(
                "close",
                "deleteNotificationChannel",
                config=me,
                options={"channel_id": channel["channel_id"]},
            ),
            js_call("after", "listNotificationChannels", config=me),
        ],
    )

    assert [c["channel_id"] for c in ok(results, "list")["channels"]] == [channel["channel_id"]]
    assert channel["filters"] == {"calendar_ids": alice.calendar_ids, "only_managed": True}
    assert results["close"]["ok"]
    assert ok(results, "after")["channels"] == []


def test_js_sdk_creates_and_deletes_a_managed_event(
    api_server: ApiServer, api_world: ApiWorld, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    me = as_account(alice)
    event = {
        "calendar_id": alice.calendar_ids[0],
        "event_id": "js-booking",
        "summary": "Booking",
        "description": "Made by the npm SDK",
        "start": wire(at(14)),
        "end": wire(at(15)),
        "tzid": "Etc/UTC",
        "location": {"description": "Room 1"},
    }

    created = cronofy_js(
        api_server.url, [js_call("create", "createEvent", config=me, options=event)]
    )
    stored = api_world.managed("js-booking")
    deleted = cronofy_js(
        api_server.url,
        [
            js_call(
                "delete",
                "deleteEvent",
                config=me,
                options={"calendar_id": alice.calendar_ids[0], "event_id": "js-booking"},
            )
        ],
    )

    assert created["create"] == {"ok": True, "value": ""}  # 202, empty body
    assert (stored.state, stored.request["summary"]) == ("pending_write", "Booking")
    assert stored.request["location"] == "Room 1"
    assert deleted["delete"] == {"ok": True, "value": ""}
    assert api_world.managed("js-booking").state == "pending_delete"


def test_js_sdk_sees_a_422_in_the_cronofy_shape(
    api_server: ApiServer, cronofy_js: JsRunner, tenant: ApiApplication
) -> None:
    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "unknown_member",
                "availability",
                config=as_application(tenant),
                options={
                    "participants": [{"members": [{"sub": "acc_unknown"}], "required": "all"}],
                    "required_duration": {"minutes": 30},
                    "query_periods": [{"start": wire(at(9)), "end": wire(at(17))}],
                },
            )
        ],
    )

    failure = results["unknown_member"]
    assert (failure["ok"], failure["status"]) == (False, 422)
    key = shapes.assert_field_errors(failure["body"], "participants[0].members[0].sub")
    assert key == "errors.not_found"


def test_js_sdk_real_time_scheduling_link_and_its_status(
    api_server: ApiServer, cronofy_js: JsRunner, tenant: ApiApplication, alice: ApiAccount
) -> None:
    link = {
        "oauth": {"redirect_uri": "https://app.example.com/done"},
        "event": {"summary": "Intro call", "tzid": "Etc/UTC"},
        "availability": {
            "participants": [{"members": [{"sub": alice.id}], "required": "all"}],
            "required_duration": {"minutes": 30},
            "query_periods": [{"start": wire(at(9)), "end": wire(at(12))}],
        },
        "target_calendars": [{"sub": alice.id, "calendar_id": alice.calendar_ids[0]}],
    }

    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "create",
                "realTimeScheduling",
                config={"client_secret": tenant.api_key},
                options=link,
            )
        ],
    )

    created = ok(results, "create")["real_time_scheduling"]
    assert created["real_time_scheduling_id"].startswith("sch_")
    assert "/rts/" in created["url"]


def test_js_sdk_reads_coordinates_and_localized_times(
    api_server: ApiServer, api_world: ApiWorld, cronofy_js: JsRunner, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(10), location="HQ", geo=Geo(51.5074, -0.1278))
    window = {"tzid": "Europe/Paris", "from": "2030-01-08", "to": "2030-01-09"}

    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "events",
                "readEvents",
                config=as_account(alice),
                options={**window, "include_geo": True, "localized_times": True},
            ),
            js_call(
                "free_busy",
                "freeBusy",
                config=as_account(alice),
                options={**window, "localized_times": True},
            ),
        ],
    )

    (event,) = ok(results, "events")["events"]
    shapes.assert_event(event)
    assert event["location"] == {"description": "HQ", "lat": "51.5074", "long": "-0.1278"}
    assert event["start"] == {"time": "2030-01-08T09:00:00+00:00", "tzid": "Etc/UTC"}
    (block,) = ok(results, "free_busy")["free_busy"]
    shapes.assert_free_busy(block)
    assert block["start"] == {"time": "2030-01-08T10:00:00+01:00", "tzid": "Europe/Paris"}
