"""POST /v1/sequenced_availability: several events in ordinal order with gaps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiAccount, ApiApplication, ApiWorld

DAY = dt.date(2030, 1, 8)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=dt.UTC)


def text(hour: int, minute: int = 0) -> str:
    return at(hour, minute).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


def member(api_world: ApiWorld, tenant: ApiApplication, email: str) -> ApiAccount:
    account = api_world.account(tenant, email)
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    return account


def step(sequence_id: str, ordinal: int, sub: str, minutes: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sequence_id": sequence_id,
        "ordinal": ordinal,
        "participants": [{"members": [{"sub": sub}], "required": "all"}],
        "required_duration": {"minutes": minutes},
    }
    body.update(fields)
    return body


def post(client: TestClient, tenant: ApiApplication, *steps: dict[str, Any], **fields: Any) -> Any:
    body: dict[str, Any] = {
        "sequence": list(steps),
        "query_periods": [{"start": text(9), "end": text(13)}],
    }
    body.update(fields)
    return client.post("/v1/sequenced_availability", headers=tenant.auth(), json=body)


def chains(response: Any) -> list[list[tuple[str, str, str]]]:
    assert response.status_code == 200, response.json()
    return [
        [(item["sequence_id"], item["start"], item["end"]) for item in sequence["sequence"]]
        for sequence in response.json()["sequences"]
    ]


def test_steps_follow_their_ordinals_around_busy_time(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    alice = member(api_world, tenant, "alice@example.com")
    bob = member(api_world, tenant, "bob@example.com")
    api_world.event(bob.calendar_ids[0], at(9), at(10))
    response = post(
        api_client,
        tenant,
        step("second", 2, bob.id, 30),
        step("first", 1, alice.id, 30),
        max_results=2,
    )
    assert chains(response) == [
        [("first", text(9), text(9, 30)), ("second", text(10), text(10, 30))],
        [("first", text(9, 30), text(10)), ("second", text(10), text(10, 30))],
    ]


def test_buffers_keep_a_gap_between_steps(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    alice = member(api_world, tenant, "alice@example.com")
    response = post(
        api_client,
        tenant,
        step("first", 1, alice.id, 30, buffer={"after": {"minutes": 30}}),
        step("second", 2, alice.id, 30),
        max_results=1,
    )
    assert chains(response) == [
        [("first", text(9), text(9, 30)), ("second", text(10), text(10, 30))]
    ]


def test_a_maximum_gap_that_cannot_be_met_gives_no_sequence(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    alice = member(api_world, tenant, "alice@example.com")
    api_world.event(alice.calendar_ids[0], at(9, 30), at(13))
    response = post(
        api_client,
        tenant,
        step("first", 1, alice.id, 30, start_interval={"minutes": 30}),
        step(
            "second", 2, alice.id, 30, buffer={"before": {"minutes": 0, "maximum": {"minutes": 60}}}
        ),
    )
    assert chains(response) == []


def test_duplicate_ordinals_are_422(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    alice = member(api_world, tenant, "alice@example.com")
    response = post(api_client, tenant, step("a", 1, alice.id, 30), step("b", 1, alice.id, 30))
    assert response.status_code == 422
    assert "sequence" in response.json()["errors"]
