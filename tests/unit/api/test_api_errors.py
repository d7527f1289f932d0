"""Errors are JSON everywhere, in Cronofy's shapes, and never carry a stack trace."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from syncd.store.db import session_scope
from syncd.store.tenants import revoke_access_tokens
from tests.support.api import ApiWorld


def test_an_unknown_route_is_a_json_404(api_client: TestClient) -> None:
    response = api_client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_wrong_method_is_a_json_405(api_client: TestClient) -> None:
    response = api_client.delete("/v1/calendars")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_a_missing_bearer_is_401_with_a_challenge(api_client: TestClient) -> None:
    response = api_client.get("/v1/calendars")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


def test_an_unknown_token_is_401(api_client: TestClient) -> None:
    response = api_client.get("/v1/calendars", headers={"Authorization": "Bearer at_nope"})
    assert response.status_code == 401


def test_a_revoked_access_token_is_401(api_client: TestClient, api_world: ApiWorld) -> None:

    account = api_world.account(api_world.application("acme"), "a@example.com")
    with session_scope(api_world.engine) as session:
        revoke_access_tokens(session, account.id)
    assert api_client.get("/v1/calendars", headers=account.auth()).status_code == 401


def test_malformed_json_is_a_422_in_the_cronofy_shape(
    api_client: TestClient, api_world: ApiWorld
) -> None:
    application = api_world.application("acme")
    response = api_client.post(
        "/v1/availability",
        headers=application.auth() | {"Content-Type": "application/json"},
        content=b'{"participants": [',
    )
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"body": [{"key": "errors.invalid_json", "description": "JSON decode error"}]}
    }


def test_a_missing_field_is_errors_required(api_client: TestClient, api_world: ApiWorld) -> None:
    application = api_world.application("acme")
    response = api_client.post("/v1/availability", headers=application.auth(), json={})
    assert response.status_code == 422
    assert response.json()["errors"]["required_duration"] == [
        {"key": "errors.required", "description": "Field required"}
    ]


def test_an_unexpected_failure_is_a_bare_json_500(api_app: FastAPI) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals: /srv/syncd/db.py line 12")

    api_app.add_api_route("/explode", explode)
    with TestClient(api_app, raise_server_exceptions=False) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "description": "internal server error"}
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_openapi_is_served(api_client: TestClient) -> None:
    paths = api_client.get("/openapi.json").json()["paths"]
    assert {"/v1/availability", "/v1/free_busy", "/v1/calendars", "/v1/profiles"} <= set(paths)
