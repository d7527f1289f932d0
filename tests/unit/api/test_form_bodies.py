"""Issue 12, item 6: every write accepts a form-encoded body as well as JSON, with Rack's
nested keys (``a[b]``, ``a[]``, ``a[][b]``) as Ruby and Rails-style clients send them;
the limits middleware parses it once and hands the route the same value JSON would be."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from syncd.api.bodies import parse_form
from syncd.store.db import session_scope
from syncd.store.models import ManagedEvent
from tests.support.api import ApiAccount, ApiApplication, ApiWorld

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    return account


def post_form(
    client: TestClient, path: str, auth: dict[str, str], pairs: list[tuple[str, str]]
) -> Any:
    return client.post(path, headers=auth | FORM, content=urlencode(pairs))


def test_rack_nested_keys_become_objects_and_lists() -> None:
    body = urlencode(
        [
            ("event_id", "x"),
            ("start[time]", "2030-01-08T09:00:00Z"),
            ("start[tzid]", "Europe/London"),
            ("attendees[invite][][email]", "a@example.com"),
            ("attendees[invite][][display_name]", "A"),
            ("attendees[invite][][email]", "b@example.com"),
            ("calendar_ids[]", "cal_1"),
            ("calendar_ids[]", "cal_2"),
        ]
    ).encode()

    assert parse_form(body) == {
        "event_id": "x",
        "start": {"time": "2030-01-08T09:00:00Z", "tzid": "Europe/London"},
        "attendees": {
            "invite": [{"email": "a@example.com", "display_name": "A"}, {"email": "b@example.com"}]
        },
        "calendar_ids": ["cal_1", "cal_2"],
    }


def test_an_event_upsert_may_be_form_encoded(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    response = post_form(
        api_client,
        f"/v1/calendars/{alice.calendar_ids[0]}/events",
        alice.auth(),
        [
            ("event_id", "form-1"),
            ("summary", "Board meeting"),
            ("start[time]", "2030-01-08T09:00:00"),
            ("start[tzid]", "Europe/London"),
            ("end", "2030-01-08T10:00:00Z"),
            ("location[description]", "Board room"),
        ],
    )

    assert response.status_code == 202, response.text
    with session_scope(api_world.engine) as session:
        row = session.execute(
            select(ManagedEvent).where(col(ManagedEvent.event_id) == "form-1")
        ).scalar_one()
        assert row.request["start"] == "2030-01-08T09:00:00+00:00"
        assert (row.request["tzid"], row.request["location"]) == ("Europe/London", "Board room")


def test_a_form_delete_names_the_event(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    path = f"/v1/calendars/{alice.calendar_ids[0]}/events"
    post_form(
        api_client,
        path,
        alice.auth(),
        [("event_id", "form-2"), ("summary", "S"), ("start", "2030-01-08"), ("end", "2030-01-09")],
    )

    response = api_client.request(
        "DELETE", path, headers=alice.auth() | FORM, content=urlencode({"event_id": "form-2"})
    )

    assert response.status_code == 202
    with session_scope(api_world.engine) as session:
        row = session.execute(
            select(ManagedEvent).where(col(ManagedEvent.event_id) == "form-2")
        ).scalar_one()
        assert row.state == "pending_delete"


def test_a_channel_may_be_created_with_a_form(api_client: TestClient, alice: ApiAccount) -> None:
    response = post_form(
        api_client,
        "/v1/channels",
        alice.auth(),
        [
            ("callback_url", "https://93.184.215.14/hook"),
            ("filters[calendar_ids][]", alice.calendar_ids[0]),
        ],
    )

    assert response.status_code == 200, response.text
    assert response.json()["channel"]["filters"]["calendar_ids"] == alice.calendar_ids


def test_an_availability_query_may_be_form_encoded(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    response = post_form(
        api_client,
        "/v1/availability",
        tenant.auth(),
        [
            ("participants[][members][][sub]", alice.id),
            ("participants[][required]", "all"),
            ("required_duration[minutes]", "60"),
            ("query_periods[][start]", "2030-01-08T09:00:00Z"),
            ("query_periods[][end]", "2030-01-08T11:00:00Z"),
        ],
    )

    assert response.status_code == 200, response.text
    assert response.json()["available_periods"][0]["start"] == "2030-01-08T09:00:00Z"


def test_a_form_and_its_json_give_the_same_answer(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    query = {
        "participants": [{"members": [{"sub": alice.id}], "required": "all"}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2030-01-08T09:00:00Z", "end": "2030-01-08T10:00:00Z"}],
    }
    as_json = api_client.post("/v1/availability", headers=tenant.auth(), json=query)
    as_form = post_form(
        api_client,
        "/v1/availability",
        tenant.auth(),
        [
            ("participants[][members][][sub]", alice.id),
            ("participants[][required]", "all"),
            ("required_duration[minutes]", "30"),
            ("query_periods[][start]", "2030-01-08T09:00:00Z"),
            ("query_periods[][end]", "2030-01-08T10:00:00Z"),
        ],
    )

    assert as_form.json() == as_json.json()


@pytest.mark.parametrize(
    "body",
    [b"a=1&a[b]=2", b"a[]=1&a[b]=2", b"\xff=1", b"=1"],
    ids=["scalar-then-object", "list-then-object", "not-utf-8", "empty-key"],
)
def test_a_form_that_does_not_fit_together_is_a_422(
    api_client: TestClient, alice: ApiAccount, body: bytes
) -> None:
    response = api_client.post(
        f"/v1/calendars/{alice.calendar_ids[0]}/events", headers=alice.auth() | FORM, content=body
    )

    assert response.status_code == 422
    assert response.json()["errors"]["body"][0]["key"] == "errors.invalid_form"


def test_form_bodies_obey_the_array_limit(api_client: TestClient, alice: ApiAccount) -> None:
    body = urlencode([("calendar_ids[]", "x")] * 1001)
    response = api_client.post("/v1/channels", headers=alice.auth() | FORM, content=body)

    assert response.status_code == 422
    assert response.json()["errors"]["body"][0]["key"] == "errors.too_many"
