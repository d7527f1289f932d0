"""Availability rules (/v1/availability_rules) and managed availability in queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiAccount, ApiApplication, ApiWorld

# 2030-01-08 is a Tuesday.
DAY = dt.date(2030, 1, 8)


def text(hour: int, minute: int = 0, day: dt.date = DAY) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    api_world.calendar(account, "Side")
    return account


def rule(rule_id: str = "default", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "availability_rule_id": rule_id,
        "tzid": "America/New_York",
        "weekly_periods": [
            {"day": "tuesday", "start_time": "09:00", "end_time": "12:00"},
            {"day": "tuesday", "start_time": "13:00", "end_time": "17:00"},
        ],
    }
    body.update(fields)
    return body


def save(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> Any:
    return client.post("/v1/availability_rules", headers=account.auth(), json=body)


def test_a_saved_rule_is_answered_wrapped_and_listed(
    api_client: TestClient, alice: ApiAccount
) -> None:
    response = save(api_client, alice, rule())
    assert response.status_code == 200
    assert response.json() == {"availability_rule": rule()}
    listed = api_client.get("/v1/availability_rules", headers=alice.auth()).json()
    assert listed == {"availability_rules": [rule()]}
    one = api_client.get("/v1/availability_rules/default", headers=alice.auth()).json()
    assert one == {"availability_rule": rule()}


def test_posting_the_same_id_replaces_the_rule(api_client: TestClient, alice: ApiAccount) -> None:
    save(api_client, alice, rule())
    replacement = rule(
        weekly_periods=[{"day": "friday", "start_time": "08:00", "end_time": "24:00"}]
    )
    assert save(api_client, alice, replacement).status_code == 200
    listed = api_client.get("/v1/availability_rules", headers=alice.auth()).json()
    assert listed["availability_rules"] == [replacement]


def test_a_deleted_rule_is_gone(api_client: TestClient, alice: ApiAccount) -> None:
    save(api_client, alice, rule())
    assert (
        api_client.delete("/v1/availability_rules/default", headers=alice.auth()).status_code == 202
    )
    assert api_client.get("/v1/availability_rules/default", headers=alice.auth()).status_code == 404
    assert (
        api_client.delete("/v1/availability_rules/default", headers=alice.auth()).status_code == 404
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tzid": "Mars/Olympus"}, "tzid"),
        ({"availability_rule_id": "has space"}, "availability_rule_id"),
        (
            {"weekly_periods": [{"day": "funday", "start_time": "09:00", "end_time": "10:00"}]},
            "weekly_periods[0].day",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "10:00", "end_time": "09:00"}]},
            "weekly_periods[0]",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "9am", "end_time": "10:00"}]},
            "weekly_periods[0]",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "24:00", "end_time": "24:00"}]},
            "weekly_periods[0]",
        ),
        ({"calendar_ids": ["cal_nope"]}, "calendar_ids"),
    ],
)
def test_an_invalid_rule_is_422_on_its_field(
    api_client: TestClient, alice: ApiAccount, fields: dict[str, Any], field: str
) -> None:
    response = save(api_client, alice, rule(**fields))
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()


def test_rules_need_the_accounts_token_not_the_api_key(
    api_client: TestClient, tenant: ApiApplication
) -> None:
    response = api_client.post("/v1/availability_rules", headers=tenant.auth(), json=rule())
    assert response.status_code == 403


def test_another_accounts_rules_are_invisible(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    save(api_client, alice, rule())
    bob = api_world.account(tenant, "bob@example.com")
    assert api_client.get("/v1/availability_rules", headers=bob.auth()).json() == {
        "availability_rules": []
    }
    assert api_client.get("/v1/availability_rules/default", headers=bob.auth()).status_code == 404


def availability(client: TestClient, auth: ApiApplication, member: dict[str, Any]) -> Any:
    return client.post(
        "/v1/availability",
        headers=auth.auth(),
        json={
            "participants": [{"members": [member], "required": "all"}],
            "required_duration": {"minutes": 60},
            "query_periods": [{"start": text(0), "end": text(0, day=DAY + dt.timedelta(days=1))}],
        },
    )


def periods(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.json()
    return [(p["start"], p["end"]) for p in response.json()["available_periods"]]


def test_a_managed_member_is_free_only_inside_its_rule_in_the_rules_zone(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    save(api_client, alice, rule())
    api_world.event(
        alice.calendar_ids[0],
        dt.datetime(2030, 1, 8, 15, tzinfo=dt.UTC),
        dt.datetime(2030, 1, 8, 16, tzinfo=dt.UTC),
    )
    answer = periods(
        availability(api_client, tenant, {"sub": alice.id, "managed_availability": True})
    )
    # New York is UTC-5 in January: 09-12 and 13-17 local are 14-17 and 18-22 UTC.
    assert answer == [(text(14), text(15)), (text(16), text(17)), (text(18), text(22))]


def test_without_managed_availability_the_rule_does_not_apply(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    save(api_client, alice, rule())
    answer = periods(availability(api_client, tenant, {"sub": alice.id}))
    assert answer == [(text(0), text(0, day=DAY + dt.timedelta(days=1)))]


def test_availability_rule_ids_choose_among_the_members_rules(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    save(api_client, alice, rule())
    save(
        api_client,
        alice,
        rule(
            "late",
            tzid="Etc/UTC",
            weekly_periods=[{"day": "tuesday", "start_time": "22:00", "end_time": "24:00"}],
        ),
    )
    member = {"sub": alice.id, "managed_availability": True, "availability_rule_ids": ["late"]}
    assert periods(availability(api_client, tenant, member)) == [
        (text(22), text(0, day=DAY + dt.timedelta(days=1)))
    ]
    everything = periods(
        availability(api_client, tenant, {"sub": alice.id, "managed_availability": True})
    )
    assert everything == [(text(14), text(17)), (text(18), text(0, day=DAY + dt.timedelta(days=1)))]


def test_an_unknown_availability_rule_id_is_422(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    member = {"sub": alice.id, "managed_availability": True, "availability_rule_ids": ["nope"]}
    response = availability(api_client, tenant, member)
    assert response.status_code == 422
    assert "participants[0].members[0].availability_rule_ids" in response.json()["errors"]


def test_a_rules_calendar_ids_decide_which_calendars_count(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    save(api_client, alice, rule(calendar_ids=[alice.calendar_ids[0]]))
    api_world.event(
        alice.calendar_ids[1],  # "Side": not in the rule's calendars
        dt.datetime(2030, 1, 8, 15, tzinfo=dt.UTC),
        dt.datetime(2030, 1, 8, 16, tzinfo=dt.UTC),
    )
    answer = periods(
        availability(api_client, tenant, {"sub": alice.id, "managed_availability": True})
    )
    assert answer == [(text(14), text(17)), (text(18), text(22))]


def test_query_slots_answer_which_of_the_given_starts_are_free(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(
        alice.calendar_ids[0],
        dt.datetime(2030, 1, 8, 10, tzinfo=dt.UTC),
        dt.datetime(2030, 1, 8, 11, tzinfo=dt.UTC),
    )
    response = api_client.post(
        "/v1/availability",
        headers=tenant.auth(),
        json={
            "participants": [{"members": [{"sub": alice.id}], "required": "all"}],
            "required_duration": {"minutes": 45},
            "query_slots": [{"start": text(9)}, {"start": text(10, 30)}, {"start": text(11, 5)}],
        },
    )
    assert response.status_code == 200, response.json()
    assert [(s["start"], s["end"]) for s in response.json()["available_slots"]] == [
        (text(9), text(9, 45)),
        (text(11, 5), text(11, 50)),
    ]


def test_query_slots_with_query_periods_is_422(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    response = api_client.post(
        "/v1/availability",
        headers=tenant.auth(),
        json={
            "participants": [{"members": [{"sub": alice.id}]}],
            "required_duration": {"minutes": 45},
            "query_slots": [{"start": text(9)}],
            "query_periods": [{"start": text(9), "end": text(17)}],
        },
    )
    assert response.status_code == 422
    assert "query_slots" in response.json()["errors"]
