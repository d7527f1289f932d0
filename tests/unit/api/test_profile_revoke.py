"""POST /v1/profiles/{profile_id}/revoke: the profile is disconnected, its events removed,
the account's channels told; it then carries ``profile_relink_url``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Event, OutboxMessage, Profile
from tests.support.api import ApiAccount, ApiWorld

START = dt.datetime(2030, 1, 8, 9, tzinfo=dt.UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allowed_hosts": ["127.0.0.1"], "public_base_url": "https://cal.example"}
    )


@pytest.fixture
def ada(api_world: ApiWorld) -> ApiAccount:
    account = api_world.account(api_world.application("acme"), "ada@example.com")
    api_world.profile(account, name="ada@gmail.com")
    calendar = api_world.calendar(account, "Work")
    api_world.event(calendar, START, START + dt.timedelta(hours=1))
    return account


def revoke(client: TestClient, account: ApiAccount) -> int:
    response = client.post(f"/v1/profiles/{account.profile_ids[0]}/revoke", headers=account.auth())
    return response.status_code


def test_revoking_disconnects_the_profile_with_a_relink_url(
    api_client: TestClient, ada: ApiAccount
) -> None:
    assert revoke(api_client, ada) == 202
    (profile,) = api_client.get("/v1/profiles", headers=ada.auth()).json()["profiles"]
    assert profile["profile_connected"] is False
    assert profile["sync_status"] == "disconnected"
    assert profile["profile_relink_url"] == (
        f"https://cal.example/oauth/profiles/{ada.profile_ids[0]}/relink"
    )


def test_a_connected_profile_has_no_relink_url(api_client: TestClient, ada: ApiAccount) -> None:
    (profile,) = api_client.get("/v1/profiles", headers=ada.auth()).json()["profiles"]
    assert "profile_relink_url" not in profile


def test_userinfo_shows_the_relink_url_too(api_client: TestClient, ada: ApiAccount) -> None:
    revoke(api_client, ada)
    userinfo = api_client.get("/v1/userinfo", headers=ada.auth()).json()
    (profile,) = userinfo["cronofy.data"]["profiles"]
    assert profile["profile_relink_url"].endswith(f"/oauth/profiles/{ada.profile_ids[0]}/relink")


def test_revoking_removes_the_profiles_events_and_forgets_its_credentials(
    api_client: TestClient, ada: ApiAccount, engine: Engine, box: SecretBox
) -> None:
    revoke(api_client, ada)
    with session_scope(engine) as session:
        assert session.exec(select(Event)).all() == []  # type: ignore[call-overload]
        profile = session.get(Profile, ada.profile_ids[0])
        assert profile is not None and box.decrypt(profile.credentials_encrypted) == {}
    events = api_client.get("/v1/events", params={"tzid": "Etc/UTC"}, headers=ada.auth())
    assert events.json()["events"] == []


def test_revoking_leaves_tombstones_that_last_modified_readers_see(
    api_client: TestClient, ada: ApiAccount, engine: Engine
) -> None:
    with session_scope(engine) as session:
        (event_id,) = session.execute(select(Event.id)).scalars()
    revoke(api_client, ada)

    query = {"tzid": "Etc/UTC", "last_modified": "2000-01-01T00:00:00Z", "include_deleted": "true"}
    (tombstone,) = api_client.get("/v1/events", params=query, headers=ada.auth()).json()["events"]

    assert tombstone["deleted"] is True
    assert tombstone["event_uid"] == f"evt_external_{event_id}"
    assert tombstone["calendar_id"] == ada.calendar_ids[0]


def test_revoking_tells_the_accounts_channels(
    api_client: TestClient, ada: ApiAccount, engine: Engine
) -> None:
    api_client.post(
        "/v1/channels", headers=ada.auth(), json={"callback_url": "http://127.0.0.1:9/hook"}
    )
    revoke(api_client, ada)
    with session_scope(engine) as session:
        kinds = [
            json.loads(message.body)["notification"]["type"]
            for message in session.exec(select(OutboxMessage)).scalars()  # type: ignore[call-overload]
        ]
    assert kinds == ["verification", "profile_disconnected", "change"]


def test_an_unknown_profile_is_404(api_client: TestClient, ada: ApiAccount) -> None:
    response = api_client.post("/v1/profiles/pro_nope/revoke", headers=ada.auth())
    assert response.status_code == 404


def test_the_api_key_cannot_revoke_a_profile(
    api_client: TestClient, api_world: ApiWorld, ada: ApiAccount
) -> None:
    response = api_client.post(f"/v1/profiles/{ada.profile_ids[0]}/revoke")
    assert response.status_code == 401
