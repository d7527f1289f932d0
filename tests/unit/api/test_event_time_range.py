"""Every date and time on an event upsert is checked against the documented range
(1970-01-01 to 2200-01-01, docs/api.md) at the API: a 422 naming the field, never a
stored event that the worker then fails on, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiAccount, ApiWorld


@pytest.fixture
def alice(api_world: ApiWorld) -> ApiAccount:
    account = api_world.account(api_world.application("acme"), "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    return account


def _upsert(client: TestClient, alice: ApiAccount, start: Any, end: Any) -> Any:
    body = {"event_id": "e1", "summary": "Standup", "start": start, "end": end}
    return client.post(
        f"/v1/calendars/{alice.calendar_ids[0]}/events", headers=alice.auth(), json=body
    )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("0001-01-01", "0001-01-02", "start"),
        ("2030-01-01", "9999-12-31", "end"),
        ("1969-12-31", "1970-01-02", "start"),
        ("2200-01-01", "2200-01-02", "start"),
        ("0001-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "start"),
        ("2030-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "end"),  # overflows UTC
        ({"time": "0001-01-01T09:00:00", "tzid": "Europe/Paris"}, "2030-01-01T00:00:00Z", "start"),
    ],
)
def test_out_of_range_dates_and_times_are_422_naming_the_field(
    api_client: TestClient, alice: ApiAccount, start: Any, end: Any, field: str
) -> None:
    response = _upsert(api_client, alice, start, end)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["key"] for e in errors[field]] == ["errors.out_of_range"]


def test_dates_inside_the_range_are_accepted(api_client: TestClient, alice: ApiAccount) -> None:
    assert _upsert(api_client, alice, "2030-01-01", "2030-01-02").status_code == 202
