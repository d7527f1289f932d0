"""GET /v1/free_busy: an account's blocks in a range, paged with absolute next_page links."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from syncd.store.db import session_scope
from syncd.store.models import Event
from tests.support.api import ApiAccount, ApiWorld


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2030, 1, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def alice(api_world: ApiWorld) -> ApiAccount:
    account = api_world.account(api_world.application("acme"), "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    api_world.calendar(account, "Home")
    return account


def read(client: TestClient, account: ApiAccount, **params: Any) -> Any:
    query = {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-01-31"} | params
    return client.get("/v1/free_busy", headers=account.auth(), params=query)


def test_blocks_carry_calendar_times_and_status(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    work, home = alice.calendar_ids
    api_world.event(work, at(8, 9), at(8, 10))
    api_world.event(home, at(9, 9), at(9, 10), participation_status="tentative")
    api_world.event(home, at(10, 9), at(10, 10), transparency="transparent")
    response = read(api_client, alice)
    assert response.status_code == 200
    assert response.json() == {
        "pages": {"current": 1, "total": 1},
        "free_busy": [
            {
                "calendar_id": work,
                "start": "2030-01-08T09:00:00Z",
                "end": "2030-01-08T10:00:00Z",
                "free_busy_status": "busy",
            },
            {
                "calendar_id": home,
                "start": "2030-01-09T09:00:00Z",
                "end": "2030-01-09T10:00:00Z",
                "free_busy_status": "tentative",
            },
            {
                "calendar_id": home,
                "start": "2030-01-10T09:00:00Z",
                "end": "2030-01-10T10:00:00Z",
                "free_busy_status": "free",
            },
        ],
    }


def test_all_day_blocks_are_dates(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], dt.date(2030, 1, 8), dt.date(2030, 1, 9))
    (block,) = read(api_client, alice).json()["free_busy"]
    assert (block["start"], block["end"]) == ("2030-01-08", "2030-01-09")


def test_to_is_exclusive(api_client: TestClient, api_world: ApiWorld, alice: ApiAccount) -> None:
    api_world.event(alice.calendar_ids[0], at(9, 0), at(9, 1))
    assert read(api_client, alice, to="2030-01-09").json()["free_busy"] == []
    assert len(read(api_client, alice, to="2030-01-10").json()["free_busy"]) == 1


def test_dates_are_midnight_in_tzid(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(8, 23), at(9, 0))  # 2030-01-09 00:00 in Paris
    day = {"from": "2030-01-09", "to": "2030-01-10"}
    assert read(api_client, alice, **day).json()["free_busy"] == []
    assert len(read(api_client, alice, tzid="Europe/Paris", **day).json()["free_busy"]) == 1


def test_localized_times_are_cronofys_time_and_tzid_objects_in_tzid(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(8, 9), at(8, 10))
    (block,) = read(api_client, alice, tzid="Europe/Paris", localized_times="True").json()[
        "free_busy"
    ]
    assert block["start"] == {"time": "2030-01-08T10:00:00+01:00", "tzid": "Europe/Paris"}
    assert block["end"] == {"time": "2030-01-08T11:00:00+01:00", "tzid": "Europe/Paris"}


def test_localized_times_leave_all_day_blocks_as_dates(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], dt.date(2030, 1, 8), dt.date(2030, 1, 9))
    (block,) = read(api_client, alice, tzid="Europe/Paris", localized_times="True").json()[
        "free_busy"
    ]
    assert (block["start"], block["end"]) == ("2030-01-08", "2030-01-09")


def test_repeated_calendar_ids_select_calendars(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    work, home = alice.calendar_ids
    api_world.event(work, at(8, 9), at(8, 10))
    api_world.event(home, at(9, 9), at(9, 10))
    only_home = read(api_client, alice, **{"calendar_ids[]": [home]}).json()["free_busy"]
    both = read(api_client, alice, **{"calendar_ids[]": [home, work]}).json()["free_busy"]
    assert [b["calendar_id"] for b in only_home] == [home]
    assert len(both) == 2


def test_sdk_style_capitalised_booleans_are_accepted(
    api_client: TestClient, alice: ApiAccount
) -> None:
    response = read(api_client, alice, include_managed="True", localized_times="False")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "field", "key"),
    [
        ({"tzid": None}, "tzid", "errors.required"),
        ({"tzid": "Mars/Olympus"}, "tzid", "errors.tzid_unrecognized"),
        ({"from": "yesterday"}, "from", "errors.invalid"),
        ({"to": "2029-12-01"}, "to", "errors.invalid_time_pair"),
        ({"calendar_ids[]": ["cal_not_mine"]}, "calendar_ids", "errors.not_found"),
    ],
    ids=["no-tzid", "bad-tzid", "bad-from", "to-before-from", "unknown-calendar"],
)
def test_invalid_parameters_are_422(
    api_client: TestClient, alice: ApiAccount, params: dict[str, Any], field: str, key: str
) -> None:
    query = {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-01-31"} | params
    query = {name: value for name, value in query.items() if value is not None}
    response = api_client.get("/v1/free_busy", headers=alice.auth(), params=query)
    assert response.status_code == 422
    assert response.json()["errors"][field][0]["key"] == key


def test_pages_link_absolutely_to_the_next_page_until_the_last(
    api_app: FastAPI, api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_app.state.free_busy_page_size = 2
    for day in range(1, 6):
        api_world.event(alice.calendar_ids[0], at(day, 9), at(day, 10))
    seen: list[str] = []
    body = read(api_client, alice).json()
    while True:
        seen += [block["start"] for block in body["free_busy"]]
        assert body["pages"]["total"] == 3
        if "next_page" not in body["pages"]:
            break
        assert body["pages"]["next_page"].startswith("http://testserver/v1/free_busy/pages/")
        body = api_client.get(body["pages"]["next_page"], headers=alice.auth()).json()
    assert body["pages"]["current"] == 3
    assert seen == [f"2030-01-0{day}T09:00:00Z" for day in range(1, 6)]


def test_next_page_uses_the_configured_public_base_url(
    api_app: FastAPI, api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_app.state.settings = api_app.state.settings.model_copy(
        update={"public_base_url": "https://cal.example.com/"}
    )
    api_app.state.free_busy_page_size = 1
    api_world.event(alice.calendar_ids[0], at(1, 9), at(1, 10))
    api_world.event(alice.calendar_ids[0], at(2, 9), at(2, 10))
    next_page = read(api_client, alice).json()["pages"]["next_page"]
    assert next_page.startswith("https://cal.example.com/v1/free_busy/pages/")


def test_an_unknown_page_token_is_404(api_client: TestClient, alice: ApiAccount) -> None:
    response = api_client.get("/v1/free_busy/pages/not-a-token", headers=alice.auth())
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_from_and_to_default_to_42_days_back_and_201_ahead(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    # The app's clock is NOW (2030-01-07 12:00 UTC): the window is [2029-11-26, 2030-07-27).
    for start in (at(7, 9) - dt.timedelta(days=43), at(7, 9) - dt.timedelta(days=41)):
        api_world.event(alice.calendar_ids[0], start, start + dt.timedelta(hours=1))
    for start in (at(7, 9) + dt.timedelta(days=200), at(7, 9) + dt.timedelta(days=202)):
        api_world.event(alice.calendar_ids[0], start, start + dt.timedelta(hours=1))

    response = api_client.get("/v1/free_busy", headers=alice.auth(), params={"tzid": "Etc/UTC"})

    assert response.status_code == 200
    assert [block["start"][:10] for block in response.json()["free_busy"]] == [
        "2029-11-27",
        "2030-07-26",
    ]


def _managed(api_world: ApiWorld, summary: str) -> None:
    """Mark the stored item ``summary`` as written through the API (as the worker does)."""
    with session_scope(api_world.engine) as session:
        event = session.execute(select(Event).where(col(Event.summary) == summary)).scalar_one()
        event.managed_event_id = "booking"
        session.add(event)


def test_managed_events_count_only_with_include_managed(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(8, 9), at(8, 10), summary="synced")
    api_world.event(alice.calendar_ids[0], at(8, 11), at(8, 12), summary="ours")
    _managed(api_world, "ours")

    default = read(api_client, alice).json()["free_busy"]
    without = read(api_client, alice, include_managed="false").json()["free_busy"]
    with_managed = read(api_client, alice, include_managed="True").json()["free_busy"]

    assert [b["start"] for b in default] == ["2030-01-08T09:00:00Z"]
    assert [b["start"] for b in without] == ["2030-01-08T09:00:00Z"]
    assert [b["start"] for b in with_managed] == ["2030-01-08T09:00:00Z", "2030-01-08T11:00:00Z"]


def test_include_managed_survives_paging(
    api_client: TestClient, api_app: FastAPI, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_app.state.free_busy_page_size = 1
    api_world.event(alice.calendar_ids[0], at(8, 9), at(8, 10), summary="synced")
    api_world.event(alice.calendar_ids[0], at(8, 11), at(8, 12), summary="ours")
    _managed(api_world, "ours")

    first = read(api_client, alice, include_managed="true").json()
    second = api_client.get(first["pages"]["next_page"], headers=alice.auth()).json()

    assert second["free_busy"][0]["start"] == "2030-01-08T11:00:00Z"
