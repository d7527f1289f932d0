"""``GET /v1/events?include_geo=true``: ``location.lat``/``long`` as Cronofy sends them
(decimal strings; cronofy-csharp's read-events fixture ``"lat": "1.2345"``), from the
coordinates stored with a synced item; without ``include_geo`` only the description."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from providers.base import Geo
from tests.support.api import ApiAccount, ApiWorld

START = dt.datetime(2030, 1, 8, 9, tzinfo=dt.UTC)


@pytest.fixture
def alice(api_world: ApiWorld) -> ApiAccount:
    account = api_world.account(api_world.application("acme"), "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    return account


def read(client: TestClient, account: ApiAccount, **params: Any) -> list[dict[str, Any]]:
    query = {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-01-31"} | params
    response = client.get("/v1/events", headers=account.auth(), params=query)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_include_geo_adds_the_stored_coordinates_as_decimal_strings(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(
        alice.calendar_ids[0],
        START,
        START + dt.timedelta(hours=1),
        location="HQ",
        geo=Geo(latitude=51.5074, longitude=-0.1278),
    )

    (event,) = read(api_client, alice, include_geo="true")

    assert event["location"] == {"description": "HQ", "lat": "51.5074", "long": "-0.1278"}


def test_without_include_geo_the_location_is_its_description_only(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(
        alice.calendar_ids[0],
        START,
        START + dt.timedelta(hours=1),
        location="HQ",
        geo=Geo(latitude=51.5074, longitude=-0.1278),
    )

    (event,) = read(api_client, alice)

    assert event["location"] == {"description": "HQ"}


def test_coordinates_without_a_description_still_make_a_location(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(
        alice.calendar_ids[0], START, START + dt.timedelta(hours=1), geo=Geo(0.0, 10.25)
    )

    (event,) = read(api_client, alice, include_geo="true")

    assert event["location"] == {"description": "", "lat": "0", "long": "10.25"}


def test_an_event_without_coordinates_has_no_lat_or_long(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], START, START + dt.timedelta(hours=1), location="HQ")

    (event,) = read(api_client, alice, include_geo="true")

    assert event["location"] == {"description": "HQ"}


def test_include_geo_is_kept_on_the_next_page(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_client.app.state.events_page_size = 1  # type: ignore[attr-defined]
    for hour in (9, 11):
        start = START.replace(hour=hour)
        api_world.event(
            alice.calendar_ids[0], start, start + dt.timedelta(hours=1), geo=Geo(1.5, 2.5)
        )
    query = {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-01-31", "include_geo": "true"}
    first = api_client.get("/v1/events", headers=alice.auth(), params=query).json()
    second = api_client.get(first["pages"]["next_page"], headers=alice.auth()).json()

    assert second["events"][0]["location"] == {"description": "", "lat": "1.5", "long": "2.5"}
