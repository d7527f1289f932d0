"""POST/GET /v1/real_time_scheduling and disable: Cronofy's shapes, every field checked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import ApiAccount, ApiApplication, ApiWorld

HOOK = "https://93.184.216.34/rts"


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    return account


def rts_body(alice: ApiAccount, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "oauth": {"redirect_uri": "https://app.example.com/done"},
        "event": {"event_id": "interview-1", "summary": "Interview", "tzid": "Europe/London"},
        "availability": {
            "participants": [{"members": [{"sub": alice.id}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "available_periods": [{"start": "2030-01-08T09:00:00Z", "end": "2030-01-08T17:00:00Z"}],
        },
        "target_calendars": [{"sub": alice.id, "calendar_id": alice.calendar_ids[0]}],
        "callback_urls": {"completed_url": HOOK},
        "tzid": "Europe/London",
    }
    body.update(fields)
    return body


def create(client: TestClient, tenant: ApiApplication, body: dict[str, Any]) -> Any:
    return client.post("/v1/real_time_scheduling", headers=tenant.auth(), json=body)


def test_a_link_is_answered_with_its_id_and_url(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    response = create(api_client, tenant, rts_body(alice))
    assert response.status_code == 200, response.json()
    link = response.json()["real_time_scheduling"]
    assert link["real_time_scheduling_id"].startswith("sch_")
    assert "/rts/" in link["url"]


def test_status_by_id_and_by_token_is_open(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    link = create(api_client, tenant, rts_body(alice)).json()["real_time_scheduling"]
    token = link["url"].rsplit("/", 1)[1]
    by_id = api_client.get(
        f"/v1/real_time_scheduling/{link['real_time_scheduling_id']}", headers=tenant.auth()
    ).json()
    by_token = api_client.get(
        "/v1/real_time_scheduling", params={"token": token}, headers=tenant.auth()
    ).json()
    assert by_id == by_token
    assert by_id["real_time_scheduling"]["status"] == "open"


def test_client_id_and_secret_in_the_body_authenticate(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    body = rts_body(alice, client_id=tenant.id, client_secret=tenant.api_key)
    response = api_client.post("/v1/real_time_scheduling", json=body)
    assert response.status_code == 200, response.json()


def test_no_credentials_is_401_and_an_account_token_is_refused(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    assert api_client.post("/v1/real_time_scheduling", json=rts_body(alice)).status_code == 401
    response = api_client.post(
        "/v1/real_time_scheduling", headers=alice.auth(), json=rts_body(alice)
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"oauth": {"redirect_uri": "https://x.example/", "scope": "read_events"}}, "oauth.scope"),
        ({"oauth": {"redirect_uri": "javascript:alert(1)"}}, "oauth.redirect_uri"),
        ({"callback_url": "http://127.0.0.1/hook"}, "callback_url"),
        ({"tzid": "Nowhere/Land"}, "tzid"),
        ({"utm": {"utm_source": "x" * 129}}, "utm.utm_source"),
        ({"utm": {"utm_colour": "red"}}, "utm.utm_colour"),
        (
            {"target_calendars": [{"sub": "acc_nobody", "calendar_id": "cal_x"}]},
            "target_calendars[0].sub",
        ),
    ],
)
def test_a_field_that_cannot_be_honoured_is_422(
    api_client: TestClient,
    tenant: ApiApplication,
    alice: ApiAccount,
    fields: dict[str, Any],
    field: str,
) -> None:
    response = create(api_client, tenant, rts_body(alice, **fields))
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()


def test_a_disabled_link_says_so_with_its_message(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    link = create(api_client, tenant, rts_body(alice)).json()["real_time_scheduling"]
    response = api_client.post(
        f"/v1/real_time_scheduling/{link['real_time_scheduling_id']}/disable",
        headers=tenant.auth(),
        json={"display_message": "This role has been filled."},
    )
    assert response.status_code == 200
    status = response.json()["real_time_scheduling"]
    assert (status["status"], status["display_message"]) == (
        "disabled",
        "This role has been filled.",
    )


def test_a_display_message_over_500_characters_is_422(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    link = create(api_client, tenant, rts_body(alice)).json()["real_time_scheduling"]
    response = api_client.post(
        f"/v1/real_time_scheduling/{link['real_time_scheduling_id']}/disable",
        headers=tenant.auth(),
        json={"display_message": "x" * 501},
    )
    assert response.status_code == 422


def test_another_applications_link_is_not_found(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    link = create(api_client, tenant, rts_body(alice)).json()["real_time_scheduling"]
    other = api_world.application("other")
    answers = [
        api_client.get(f"/v1/real_time_scheduling/{link_id}", headers=other.auth())
        for link_id in (link["real_time_scheduling_id"], "sch_nothing")
    ]
    assert [a.status_code for a in answers] == [404, 404]
    token = link["url"].rsplit("/", 1)[1]
    by_token = api_client.get(
        "/v1/real_time_scheduling", params={"token": token}, headers=other.auth()
    )
    assert by_token.status_code == 404
