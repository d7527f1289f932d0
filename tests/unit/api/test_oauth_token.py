"""POST /oauth/token and /oauth/token/revoke: RFC 6749 grants as Cronofy answers them.

Codes are made by the store function the hosted authorize flow calls (``issue_code``);
everything else goes over HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from syncd.store.db import session_scope
from syncd.store.models import AccessToken, AuthorizationCode
from syncd.store.oauth import issue_code
from syncd.store.tenants import find_account, find_application
from tests.support.api import ApiAccount, ApiApplication, ApiWorld

REDIRECT = "https://app.example.com/oauth/callback"
VERIFIER = "v" * 43 + "-._~0123456789"


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class Flow:
    app: ApiApplication
    account: ApiAccount
    engine: Engine

    def code(
        self,
        scope: str = "read_account read_events",
        redirect_uri: str = REDIRECT,
        code_challenge: str | None = None,
        profile_id: str | None = None,
    ) -> str:
        with session_scope(self.engine) as session:
            return issue_code(
                session,
                find_application(session, self.app.id),
                find_account(session, self.account.id),
                redirect_uri,
                scope,
                profile_id=profile_id,
                code_challenge=code_challenge,
            )

    def exchange(self, code: str, **extra: Any) -> dict[str, Any]:
        return {
            "grant_type": "authorization_code",
            "client_id": self.app.client_id,
            "client_secret": self.app.api_key,
            "code": code,
            "redirect_uri": REDIRECT,
            **extra,
        }


@pytest.fixture
def flow(api_world: ApiWorld, engine: Engine) -> Flow:
    app = api_world.application("acme", [REDIRECT])
    account = api_world.account(app, "ada@example.com")
    api_world.profile(account, name="ada@gmail.com")
    return Flow(app, account, engine)


def tokens(client: TestClient, flow: Flow, **extra: Any) -> dict[str, Any]:
    response = client.post("/oauth/token", json=flow.exchange(flow.code(), **extra))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_code_is_exchanged_for_cronofys_token_answer(api_client: TestClient, flow: Flow) -> None:
    code = flow.code(profile_id=flow.account.profile_ids[0])
    response = api_client.post("/oauth/token", json=flow.exchange(code))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 10800
    assert body["scope"] == "read_account read_events"
    assert body["account_id"] == body["sub"] == flow.account.id
    assert body["linking_profile"] == {
        "provider_name": "google",
        "profile_id": flow.account.profile_ids[0],
        "profile_name": "ada@gmail.com",
    }
    assert body["access_token"] and body["refresh_token"]


def test_the_access_token_reads_the_account(api_client: TestClient, flow: Flow) -> None:
    access = tokens(api_client, flow)["access_token"]
    response = api_client.get("/v1/account", headers={"Authorization": f"Bearer {access}"})
    assert response.json()["account"] == {
        "account_id": flow.account.id,
        "email": "ada@example.com",
        "name": "ada",
        "scope": "read_account read_events",
        "default_tzid": "Etc/UTC",
    }


def test_a_form_encoded_exchange_works_too(api_client: TestClient, flow: Flow) -> None:
    response = api_client.post("/oauth/token", data=flow.exchange(flow.code()))
    assert response.status_code == 200
    assert response.json()["sub"] == flow.account.id


def test_http_basic_client_authentication_works(api_client: TestClient, flow: Flow) -> None:
    body = flow.exchange(flow.code())
    del body["client_id"], body["client_secret"]
    response = api_client.post(
        "/oauth/token", data=body, auth=(flow.app.client_id, flow.app.api_key)
    )
    assert response.status_code == 200


def test_a_wrong_client_secret_is_invalid_client_401(api_client: TestClient, flow: Flow) -> None:
    response = api_client.post("/oauth/token", json=flow.exchange(flow.code(), client_secret="x"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_missing_client_id_is_invalid_client(api_client: TestClient, flow: Flow) -> None:
    response = api_client.post("/oauth/token", json=flow.exchange(flow.code(), client_id=""))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_another_applications_secret_does_not_authenticate_this_client(
    api_client: TestClient, api_world: ApiWorld, flow: Flow
) -> None:
    other = api_world.application("other", [REDIRECT])
    response = api_client.post(
        "/oauth/token", json=flow.exchange(flow.code(), client_secret=other.api_key)
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_another_applications_code_is_invalid_grant(
    api_client: TestClient, api_world: ApiWorld, flow: Flow
) -> None:
    other = api_world.application("other", [REDIRECT])
    body = flow.exchange(flow.code(), client_id=other.client_id, client_secret=other.api_key)
    response = api_client.post("/oauth/token", json=body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_code_works_once(api_client: TestClient, flow: Flow) -> None:
    code = flow.code()
    assert api_client.post("/oauth/token", json=flow.exchange(code)).status_code == 200
    again = api_client.post("/oauth/token", json=flow.exchange(code))
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_reusing_a_code_revokes_the_tokens_it_issued(api_client: TestClient, flow: Flow) -> None:
    code = flow.code()
    first = api_client.post("/oauth/token", json=flow.exchange(code)).json()
    api_client.post("/oauth/token", json=flow.exchange(code))
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    assert api_client.get("/v1/account", headers=auth).status_code == 401
    refresh = api_client.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": flow.app.client_id,
            "client_secret": flow.app.api_key,
            "refresh_token": first["refresh_token"],
        },
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_an_expired_code_is_invalid_grant(
    api_client: TestClient, flow: Flow, engine: Engine
) -> None:
    code = flow.code()
    with session_scope(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(AuthorizationCode).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    response = api_client.post("/oauth/token", json=flow.exchange(code))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert "expired" in response.json()["error_description"]


def test_a_different_redirect_uri_is_invalid_grant(api_client: TestClient, flow: Flow) -> None:
    body = flow.exchange(flow.code(), redirect_uri="https://app.example.com/other")
    response = api_client.post("/oauth/token", json=body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_an_unknown_code_is_invalid_grant(api_client: TestClient, flow: Flow) -> None:
    response = api_client.post("/oauth/token", json=flow.exchange("code_made_up"))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_pkce_the_right_verifier_gets_tokens(api_client: TestClient, flow: Flow) -> None:
    code = flow.code(code_challenge=challenge(VERIFIER))
    response = api_client.post("/oauth/token", json=flow.exchange(code, code_verifier=VERIFIER))
    assert response.status_code == 200


def test_pkce_a_wrong_verifier_is_invalid_grant(api_client: TestClient, flow: Flow) -> None:
    code = flow.code(code_challenge=challenge(VERIFIER))
    wrong = "w" * 50
    response = api_client.post("/oauth/token", json=flow.exchange(code, code_verifier=wrong))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_pkce_a_missing_verifier_is_invalid_grant(api_client: TestClient, flow: Flow) -> None:
    code = flow.code(code_challenge=challenge(VERIFIER))
    response = api_client.post("/oauth/token", json=flow.exchange(code))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_pkce_a_failed_verifier_does_not_burn_the_code(api_client: TestClient, flow: Flow) -> None:
    """Whoever intercepted the code cannot use it, nor stop the real client using it."""
    code = flow.code(code_challenge=challenge(VERIFIER))
    api_client.post("/oauth/token", json=flow.exchange(code, code_verifier="x" * 43))
    response = api_client.post("/oauth/token", json=flow.exchange(code, code_verifier=VERIFIER))
    assert response.status_code == 200


def test_a_verifier_for_a_code_without_challenge_is_refused(
    api_client: TestClient, flow: Flow
) -> None:
    response = api_client.post(
        "/oauth/token", json=flow.exchange(flow.code(), code_verifier=VERIFIER)
    )
    assert response.json()["error"] == "invalid_grant"


def test_an_unknown_grant_type_is_unsupported_grant_type(
    api_client: TestClient, flow: Flow
) -> None:
    body = flow.exchange(flow.code(), grant_type="password")
    response = api_client.post("/oauth/token", json=body)
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


@pytest.mark.parametrize("missing", ["grant_type", "code", "redirect_uri"])
def test_a_missing_parameter_is_invalid_request(
    api_client: TestClient, flow: Flow, missing: str
) -> None:
    body = flow.exchange(flow.code())
    del body[missing]
    response = api_client.post("/oauth/token", json=body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    "content", [b"[1, 2]", b"{not json", b'{"code": {"nested": 1}}', b"\xff\xfe"]
)
def test_a_malformed_body_is_invalid_request(api_client: TestClient, content: bytes) -> None:
    response = api_client.post(
        "/oauth/token", content=content, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_a_repeated_form_parameter_is_invalid_request(api_client: TestClient) -> None:
    response = api_client.post(
        "/oauth/token",
        content=b"grant_type=authorization_code&grant_type=refresh_token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["error"] == "invalid_request"


def refresh(client: TestClient, flow: Flow, refresh_token: str) -> Any:
    return client.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": flow.app.client_id,
            "client_secret": flow.app.api_key,
            "refresh_token": refresh_token,
        },
    )


def test_a_refresh_returns_new_tokens_and_keeps_the_scope(
    api_client: TestClient, flow: Flow
) -> None:
    first = tokens(api_client, flow)
    response = refresh(api_client, flow, first["refresh_token"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token_type", "access_token", "expires_in", "refresh_token", "scope"}
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["scope"] == "read_account read_events"
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert api_client.get("/v1/account", headers=auth).status_code == 200


def test_a_rotated_out_refresh_token_is_refused_and_revokes_the_grant(
    api_client: TestClient, flow: Flow
) -> None:
    first = tokens(api_client, flow)
    second = refresh(api_client, flow, first["refresh_token"]).json()
    replay = refresh(api_client, flow, first["refresh_token"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert refresh(api_client, flow, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_another_application_cannot_use_a_refresh_token(
    api_client: TestClient, api_world: ApiWorld, flow: Flow
) -> None:
    first = tokens(api_client, flow)
    other = api_world.application("other")
    response = api_client.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": other.client_id,
            "client_secret": other.api_key,
            "refresh_token": first["refresh_token"],
        },
    )
    assert response.json()["error"] == "invalid_grant"
    assert refresh(api_client, flow, first["refresh_token"]).status_code == 200


def test_an_expired_access_token_is_401(
    api_client: TestClient, flow: Flow, api_app: Any, settings: Any
) -> None:
    api_app.state.settings = settings.model_copy(update={"oauth_access_token_lifetime": 60.0})
    body = tokens(api_client, flow)
    assert body["expires_in"] == 60
    with session_scope(flow.engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(AccessToken)
            .where(AccessToken.grant_id.is_not(None))  # type: ignore[union-attr]
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert api_client.get("/v1/account", headers=auth).status_code == 401


def test_operator_issued_tokens_keep_working_with_every_scope(
    api_client: TestClient, flow: Flow
) -> None:
    response = api_client.get("/v1/userinfo", headers=flow.account.auth())
    scope = response.json()["cronofy.data"]["authorization"]["scope"].split()
    assert {"read_account", "read_events", "create_event", "delete_event"} <= set(scope)


def test_userinfo_tells_the_scope_granted(api_client: TestClient, flow: Flow) -> None:
    access = tokens(api_client, flow)["access_token"]
    response = api_client.get("/v1/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert response.json()["cronofy.data"]["authorization"] == {
        "scope": "read_account read_events",
        "status": "active",
    }


def test_a_route_outside_the_granted_scope_is_403(api_client: TestClient, flow: Flow) -> None:
    access = tokens(api_client, flow)["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    response = api_client.get("/v1/calendars", headers=auth)
    assert (response.status_code, response.json()["error"]) == (403, "insufficient_scope")
    assert api_client.get("/v1/events", params={"tzid": "Etc/UTC"}, headers=auth).status_code == 200


def test_revoking_the_access_token_revokes_the_grant(api_client: TestClient, flow: Flow) -> None:
    body = tokens(api_client, flow)
    response = api_client.post(
        "/oauth/token/revoke",
        json={
            "client_id": flow.app.client_id,
            "client_secret": flow.app.api_key,
            "token": body["access_token"],
        },
    )
    assert response.status_code == 200
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert api_client.get("/v1/account", headers=auth).status_code == 401
    assert refresh(api_client, flow, body["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoking_by_refresh_token_form_encoded(api_client: TestClient, flow: Flow) -> None:
    body = tokens(api_client, flow)
    response = api_client.post(
        "/oauth/token/revoke",
        data={
            "client_id": flow.app.client_id,
            "client_secret": flow.app.api_key,
            "token": body["refresh_token"],
        },
    )
    assert response.status_code == 200
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert api_client.get("/v1/account", headers=auth).status_code == 401


def test_revoking_by_sub_revokes_every_token_of_the_account(
    api_client: TestClient, flow: Flow
) -> None:
    body = tokens(api_client, flow)
    api_client.post(
        "/oauth/token/revoke",
        json={
            "client_id": flow.app.client_id,
            "client_secret": flow.app.api_key,
            "sub": flow.account.id,
        },
    )
    for token in (body["access_token"], flow.account.token):
        auth = {"Authorization": f"Bearer {token}"}
        assert api_client.get("/v1/account", headers=auth).status_code == 401


def test_another_application_cannot_revoke_a_token(
    api_client: TestClient, api_world: ApiWorld, flow: Flow
) -> None:
    body = tokens(api_client, flow)
    other = api_world.application("other")
    response = api_client.post(
        "/oauth/token/revoke",
        json={
            "client_id": other.client_id,
            "client_secret": other.api_key,
            "token": body["access_token"],
        },
    )
    assert response.status_code == 200  # RFC 7009: nothing to tell
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert api_client.get("/v1/account", headers=auth).status_code == 200


def test_revoking_without_client_credentials_is_invalid_client(
    api_client: TestClient, flow: Flow
) -> None:
    response = api_client.post("/oauth/token/revoke", json={"token": "whatever"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_revoking_an_unknown_token_is_200(api_client: TestClient, flow: Flow) -> None:
    response = api_client.post(
        "/oauth/token/revoke",
        json={"client_id": flow.app.client_id, "client_secret": flow.app.api_key, "token": "nope"},
    )
    assert response.status_code == 200


def test_codes_and_tokens_are_stored_only_as_hashes(
    api_client: TestClient, flow: Flow, engine: Engine
) -> None:
    code = flow.code()
    body = api_client.post("/oauth/token", json=flow.exchange(code)).json()
    with engine.connect() as connection:
        dump = "\n".join(
            str(row)
            for table in ("authorizationcode", "refreshtoken", "accesstoken", "oauthgrant")
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}")
        )
    for secret in (code, body["refresh_token"], body["access_token"]):
        assert secret not in dump
