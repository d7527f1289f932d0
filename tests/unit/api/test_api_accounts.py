"""GET /v1/calendars, /v1/profiles and /v1/userinfo: one account's own data."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.support.api import NOW, ApiAccount, ApiApplication, ApiWorld


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    return api_world.account(tenant, "alice@example.com", timezone="Europe/London")


def test_calendars_list_the_accounts_calendars_with_their_flags(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    profile_id = api_world.profile(alice, name="alice@gmail.com")
    work = api_world.calendar(alice, "Work", primary=True, integrated_conferencing=True)
    api_world.calendar(alice, "Gone", deleted=True)
    response = api_client.get("/v1/calendars", headers=alice.auth())
    assert response.status_code == 200
    assert response.json() == {
        "sub": alice.id,
        "calendars": [
            {
                "provider_name": "google",
                "profile_id": profile_id,
                "profile_name": "alice@gmail.com",
                "calendar_id": work,
                "calendar_name": "Work",
                "calendar_readonly": False,
                "calendar_deleted": False,
                "calendar_primary": True,
                "calendar_integrated_conferencing_available": True,
                "calendar_attachments_available": False,
                "permission_level": "unrestricted",
            }
        ],
    }


def test_profiles_report_connection_initial_sync_and_sync_status(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    active = api_world.profile(alice)
    first_sync = api_world.profile(alice, sync_status="pending", initial_sync_done=False)
    revoked = api_world.profile(alice, sync_status="disconnected")
    profiles = api_client.get("/v1/profiles", headers=alice.auth()).json()["profiles"]
    summary = {
        p["profile_id"]: (
            p["profile_connected"],
            p["profile_initial_sync_required"],
            p["sync_status"],
        )
        for p in profiles
    }
    assert summary == {
        active: (True, False, "active"),
        first_sync: (True, True, "pending"),
        revoked: (False, False, "disconnected"),
    }


def test_a_profile_with_stale_data_reads_as_pending(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount, settings: object
) -> None:
    api_world.profile(alice, last_success_at=NOW - dt.timedelta(days=1))
    (profile,) = api_client.get("/v1/profiles", headers=alice.auth()).json()["profiles"]
    assert profile["sync_status"] == "pending"
    assert "stale" in profile["sync_status_reason"]


def test_userinfo_names_the_account_with_its_profiles_and_calendars(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    profile_id = api_world.profile(alice)
    work = api_world.calendar(alice, "Work")
    body = api_client.get("/v1/userinfo", headers=alice.auth()).json()
    assert (body["sub"], body["email"], body["zoneinfo"]) == (
        alice.id,
        "alice@example.com",
        "Europe/London",
    )
    assert body["cronofy.type"] == "account"
    (profile,) = body["cronofy.data"]["profiles"]
    assert profile["profile_id"] == profile_id
    assert [c["calendar_id"] for c in profile["profile_calendars"]] == [work]


@pytest.mark.parametrize("path", ["/v1/calendars", "/v1/profiles", "/v1/userinfo"])
def test_account_endpoints_refuse_the_application_api_key(
    api_client: TestClient, tenant: ApiApplication, path: str
) -> None:
    response = api_client.get(path, headers=tenant.auth())
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_a_json_body_on_a_get_is_ignored(api_client: TestClient, alice: ApiAccount) -> None:
    response = api_client.request(
        "GET",
        "/v1/calendars",
        headers=alice.auth() | {"Content-Type": "application/json"},
        content=b"{}",
    )
    assert response.status_code == 200
