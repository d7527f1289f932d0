"""Events API end to end: upsert through the API, the daemon's job writes to the provider
emulator (Google) or a real CalDAV server (Radicale), conferencing attached, webhooks queued.

The ``world`` fixture and its helpers live in :mod:`tests.support.events_world` (the
conferencing tests share them).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from syncd.store.db import session_scope
from syncd.store.managed import create_conferencing_profile
from syncd.store.models import Calendar, Event, ManagedEvent
from syncd.store.tenants import (
    create_account,
    create_application,
    find_account,
)
from syncd.sync.run import SyncContext, sync_profile
from tests.support.events_world import (
    DAY,
    GOOGLE_CALENDAR,
    HOOK,
    World,
    at,
    event_body,
    set_default_conferencing,
    subscribed,
    world,
)

__all__ = ["world"]  # the shared fixture, from tests/support/events_world.py


# --------------------------------------------------------------------------- upsert


def test_upsert_answers_202_at_once_and_the_daemon_writes_the_event(world: World) -> None:
    response = world.upsert(world.google)
    assert response.status_code == 202
    assert response.content == b""
    assert world.managed("board-meeting").state == "pending_write"

    assert world.work() == 1

    written = world.google_event("board-meeting")
    assert written["summary"] == "Board meeting"
    assert written["start"]["dateTime"].startswith(f"{DAY}T15:30:00")
    assert world.managed("board-meeting").state == "written"


def test_the_same_body_twice_changes_nothing_and_creates_nothing_twice(world: World) -> None:
    body = {"conferencing": {"profile_id": "default"}, "subscriptions": subscribed()}
    world.upsert(world.google, **body)
    world.work()
    before = world.managed("board-meeting")
    requests_before = len(world.emulator.requests)

    assert world.upsert(world.google, **body).status_code == 202
    assert world.work() == 0

    after = world.managed("board-meeting")
    assert after.updated_at == before.updated_at
    assert after.conferencing == before.conferencing
    assert len(world.outbox("conferencing_assigned")) == 1
    assert len(world.emulator.requests) == requests_before


def test_a_changed_body_rewrites_the_same_provider_event(world: World) -> None:
    world.upsert(world.google)
    world.work()
    first_id = world.managed("board-meeting").provider_event_id

    world.upsert(world.google, start=at(0, 17, 30), end=at(0, 18, 30), summary="Moved")
    world.work()

    row = world.managed("board-meeting")
    assert row.provider_event_id == first_id
    event = world.google_event("board-meeting")
    assert event["summary"] == "Moved"
    assert event["start"]["dateTime"].startswith(f"{DAY}T17:30:00")


def test_all_day_and_zoned_times_are_written_as_given(world: World) -> None:
    first, last = (DAY + dt.timedelta(days=2)).isoformat(), (DAY + dt.timedelta(days=4)).isoformat()
    world.upsert(world.google, event_id="offsite", start=first, end=last)
    world.upsert(
        world.google,
        event_id="standup",
        start={"time": f"{DAY}T09:00:00", "tzid": "Europe/London"},
        end={"time": f"{DAY}T09:15:00", "tzid": "Europe/London"},
    )
    world.work()

    assert world.google_event("offsite")["start"] == {"date": first}
    standup = world.google_event("standup")["start"]
    assert standup["dateTime"].startswith(f"{DAY}T09:00:00")
    assert standup["timeZone"] == "Europe/London"


def test_events_are_written_to_caldav_with_the_join_details(world: World) -> None:
    world.upsert(
        world.caldav,
        conferencing={
            "profile_id": "explicit",
            "provider_description": "Videotech",
            "join_url": "https://videotech.com/join-call/xyz",
        },
    )
    world.work()

    row = world.managed("board-meeting")
    assert row.state == "written"
    with session_scope(world.engine) as session:
        event = session.execute(
            select(Event).where(Event.managed_event_id == "board-meeting")
        ).scalar_one()
    assert event.ical is not None
    assert "CONFERENCE" in event.ical and "https://videotech.com/join-call/xyz" in event.ical
    assert "Join Videotech: https://videotech.com/join-call/xyz" in event.description


# --------------------------------------------------------------------------- refusals


def test_unknown_and_read_only_calendars_are_refused(world: World) -> None:
    unknown = world.upsert("cal_doesnotexist")
    readonly = world.upsert(world.readonly)
    assert unknown.status_code == 404
    assert readonly.status_code == 403
    assert "read-only" in readonly.json()["description"]
    assert world.work() == 0


def test_api_keys_cannot_write_events(world: World) -> None:
    with session_scope(world.engine) as session:
        api_key = create_application(session, world.box, "other").api_key
    response = world.client.post(
        f"/v1/calendars/{world.google}/events",
        headers={"Authorization": f"Bearer {api_key}"},
        json=event_body(),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"conferencing": {"profile_id": "explicit", "provider_description": "V"}},
            "conferencing.join_url",
        ),
        (
            {
                "conferencing": {
                    "profile_id": "explicit",
                    "provider_description": "V",
                    "join_url": "javascript:alert(1)",
                }
            },
            "conferencing.join_url",
        ),
        ({"conferencing": {"profile_id": "pro_nosuchprofile"}}, "conferencing.profile_id"),
        ({"subscriptions": subscribed(uri="http://10.0.0.8/hook")}, "subscriptions[0].uri"),
        ({"subscriptions": subscribed(uri="https://192.168.1.1/hook")}, "subscriptions[0].uri"),
        (
            {"subscriptions": subscribed(uri="http://169.254.169.254/latest/meta-data")},
            "subscriptions[0].uri",
        ),
        ({"subscriptions": subscribed(uri="ftp://93.184.216.34/hook")}, "subscriptions[0].uri"),
        (
            {
                "subscriptions": [
                    {
                        "type": "webhook",
                        "uri": HOOK,
                        "interactions": [{"type": "conferencing_exploded"}],
                    }
                ]
            },
            "subscriptions[0].interactions[0].type",
        ),
        ({"end": at(0, 15)}, "end"),
        ({"start": "tomorrow-ish"}, "start"),
        ({"tzid": "Mars/Olympus_Mons"}, "tzid"),
        ({"event_id": None}, "event_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    response = world.upsert(world.google, **body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]
    with session_scope(world.engine) as session:
        assert session.execute(select(ManagedEvent)).first() is None


def test_integrated_conferencing_on_a_caldav_calendar_is_a_422(world: World) -> None:
    response = world.upsert(world.caldav, conferencing={"profile_id": "integrated"})
    assert response.status_code == 422
    errors = response.json()["errors"]["conferencing.profile_id"]
    assert errors[0]["key"] == "errors.integrated_conferencing_unavailable"


def test_another_accounts_conferencing_profile_is_an_unknown_profile_id(world: World) -> None:
    with session_scope(world.engine) as session:
        account = find_account(session, world.account_id)
        other = create_account(session, account.application_id, "bob@example.com", "Bob")
        foreign = create_conferencing_profile(session, world.box, other, "zoom", "bob", {}).id
    response = world.upsert(world.google, conferencing={"profile_id": foreign})
    assert response.status_code == 422
    (error,) = response.json()["errors"]["conferencing.profile_id"]
    assert error["key"] == "errors.unknown_profile"


def test_a_teams_profile_on_a_google_calendar_is_a_422(world: World) -> None:
    with session_scope(world.engine) as session:
        account = find_account(session, world.account_id)
        teams = create_conferencing_profile(session, world.box, account, "teams", "a", {}).id
    response = world.upsert(world.google, conferencing={"profile_id": teams})
    assert response.status_code == 422
    (error,) = response.json()["errors"]["conferencing.profile_id"]
    assert error["key"] == "errors.conferencing_unavailable"
    assert "Microsoft Teams" in error["description"]


def test_a_default_meet_profile_on_a_caldav_calendar_falls_back_to_8x8(world: World) -> None:
    with session_scope(world.engine) as session:
        account = find_account(session, world.account_id)
        meet = create_conferencing_profile(session, world.box, account, "meet", "a", {}).id
    set_default_conferencing(world, meet)
    response = world.upsert(
        world.caldav, conferencing={"profile_id": "default"}, subscriptions=subscribed()
    )
    assert response.status_code == 202
    world.work()
    (message,) = world.outbox("conferencing_assigned")
    assert json.loads(message.body)["event"]["conferencing"]["provider_description"] == "8x8"


# --------------------------------------------------------------------------- delete


def test_delete_by_event_id_removes_the_provider_event(world: World) -> None:
    world.upsert(world.google)
    world.work()
    provider_id = world.managed("board-meeting").provider_event_id

    response = world.delete(world.google, event_id="board-meeting")
    assert response.status_code == 202
    world.work()

    assert world.emulator.event(GOOGLE_CALENDAR, provider_id)["status"] == "cancelled"
    assert world.managed("board-meeting").state == "deleted"
    events = world.read_events(include_managed="true").json()["events"]
    assert events == []


def test_delete_by_event_uid_removes_a_synced_event(world: World) -> None:
    world.emulator.put_event(
        GOOGLE_CALENDAR,
        {
            "id": "external00001",
            "summary": "Dentist",
            "start": {"dateTime": at(1, 10)},
            "end": {"dateTime": at(1, 11)},
        },
    )
    sync_profile(SyncContext(world.engine, world.settings, world.box), _google_profile(world))
    uid = world.read_events().json()["events"][0]["event_uid"]

    assert world.delete(world.google, event_uid=uid).status_code == 202
    world.work()

    assert world.emulator.event(GOOGLE_CALENDAR, "external00001")["status"] == "cancelled"
    assert world.read_events().json()["events"] == []


def test_delete_needs_an_event_id_or_uid(world: World) -> None:
    response = world.delete(world.google)
    assert response.status_code == 422
    assert "event_id" in response.json()["errors"]


def _google_profile(world: World) -> str:
    with session_scope(world.engine) as session:
        calendar = session.get(Calendar, world.google)
        assert calendar is not None
        return calendar.profile_id


# --------------------------------------------------------------------------- read


def test_read_events_shows_managed_events_with_their_conferencing(world: World) -> None:
    world.upsert(
        world.google,
        location={"description": "Board room"},
        conferencing={
            "profile_id": "explicit",
            "provider_description": "Videotech",
            "join_url": "https://videotech.com/join-call/xyz",
        },
    )
    world.work()

    hidden = world.read_events().json()
    shown = world.read_events(include_managed="True").json()

    assert hidden["events"] == []
    assert hidden["pages"] == {"current": 1, "total": 1}
    (event,) = shown["events"]
    assert event["event_id"] == "board-meeting"
    assert event["calendar_id"] == world.google
    assert event["start"] == at(0, 15, 30)
    assert event["location"] == {"description": "Board room"}
    assert event["conferencing"] == {
        "provider_description": "Videotech",
        "join_url": "https://videotech.com/join-call/xyz",
    }


def test_read_events_filters_and_pages_with_absolute_links(world: World) -> None:
    world.client.app.state.events_page_size = 2  # type: ignore[attr-defined]
    for day in range(5):
        world.upsert(world.google, event_id=f"e{day}", start=at(day, 9), end=at(day, 10))
    world.upsert(world.caldav, event_id="caldav-one")
    world.work()

    seen: list[str] = []
    response = world.read_events(only_managed="true", **{"calendar_ids[]": [world.google]})
    while True:
        page = response.json()
        seen += [event["event_id"] for event in page["events"]]
        next_page = page["pages"].get("next_page")
        if not next_page:
            break
        assert next_page.startswith("http://testserver/v1/events/pages/")
        response = world.client.get(next_page, headers=world.auth())
    assert seen == ["e0", "e1", "e2", "e3", "e4"]


def test_read_events_include_deleted_lists_deleted_managed_events(world: World) -> None:
    world.upsert(world.google)
    world.work()
    world.delete(world.google, event_id="board-meeting")
    world.work()

    events = world.read_events(include_managed="true", include_deleted="true").json()["events"]

    assert [(e["event_id"], e["deleted"]) for e in events] == [("board-meeting", True)]


def test_read_events_last_modified_returns_only_later_changes(world: World) -> None:
    world.upsert(world.google)
    world.work()
    response = world.read_events(include_managed="true", last_modified="2199-01-01T00:00:00Z")
    assert response.json()["events"] == []
    response = world.read_events(include_managed="true", last_modified="2000-01-01T00:00:00Z")
    assert len(response.json()["events"]) == 1


def test_read_events_requires_tzid_and_own_calendars(world: World) -> None:
    missing = world.client.get("/v1/events", headers=world.auth())
    foreign = world.read_events(**{"calendar_ids[]": ["cal_someoneelses"]})
    assert missing.status_code == 422 and "tzid" in missing.json()["errors"]
    assert foreign.status_code == 422 and "calendar_ids" in foreign.json()["errors"]


def test_the_webhook_body_is_the_event_as_read(world: World) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    world.work()

    (message,) = world.outbox("conferencing_assigned")
    body = json.loads(message.body)
    (read,) = world.read_events(include_managed="true").json()["events"]
    assert message.url == HOOK
    assert body["notification"] == {"type": "conferencing_assigned"}
    assert body["event"] == read


def _external_event(world: World, event_id: str, **fields: Any) -> None:
    world.emulator.put_event(
        GOOGLE_CALENDAR,
        {
            "id": event_id,
            "summary": event_id,
            "start": {"dateTime": at(1, 10), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": at(1, 11), "timeZone": "Europe/Berlin"},
            **fields,
        },
    )
    sync_profile(SyncContext(world.engine, world.settings, world.box), _google_profile(world))


def test_created_and_updated_are_whole_seconds(world: World) -> None:
    _external_event(world, "seconds00001")

    (event,) = world.read_events().json()["events"]

    for key in ("created", "updated"):
        assert dt.datetime.strptime(event[key], "%Y-%m-%dT%H:%M:%SZ")


def test_localized_times_are_given_in_the_events_own_zone(world: World) -> None:
    _external_event(world, "localized001")

    (plain,) = world.read_events().json()["events"]
    (local,) = world.read_events(localized_times="true").json()["events"]

    berlin = dt.datetime.fromisoformat(at(1, 10).replace("Z", "+00:00")).astimezone(
        ZoneInfo("Europe/Berlin")
    )
    assert plain["start"] == at(1, 10)
    assert local["start"] == {"time": berlin.isoformat(), "tzid": "Europe/Berlin"}
    assert local["end"]["tzid"] == "Europe/Berlin"


def test_localized_times_without_an_event_zone_use_the_query_tzid(world: World) -> None:
    world.upsert(world.google, tzid="Etc/UTC")
    world.work()
    with session_scope(world.engine) as session:
        for event in session.execute(select(Event)).scalars():
            event.tzid = None
            session.add(event)

    events = world.read_events(
        include_managed="true", localized_times="true", tzid="America/New_York"
    ).json()["events"]

    assert events[0]["start"]["tzid"] == "America/New_York"
    assert events[0]["start"]["time"].endswith(("-05:00", "-04:00"))


def test_localized_times_survive_paging(world: World) -> None:
    world.client.app.state.events_page_size = 1  # type: ignore[attr-defined]
    for day in range(2):
        world.upsert(world.google, event_id=f"p{day}", start=at(day, 9), end=at(day, 10))
    world.work()

    first = world.read_events(only_managed="true", localized_times="true").json()
    second = world.client.get(first["pages"]["next_page"], headers=world.auth()).json()

    assert isinstance(second["events"][0]["start"], dict)


def test_deleting_one_occurrence_of_a_series_by_uid_is_a_422(world: World) -> None:
    _external_event(world, "series000001", recurrence=["RRULE:FREQ=DAILY;COUNT=2"])
    first, _ = world.read_events().json()["events"]

    response = world.delete(world.google, event_uid=first["event_uid"])

    assert response.status_code == 422
    assert "event_uid" in response.json()["errors"]
    assert world.emulator.event(GOOGLE_CALENDAR, "series000001")["status"] == "confirmed"
