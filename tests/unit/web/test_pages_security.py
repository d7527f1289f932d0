"""The pages' security plumbing, in-process: headers, cookies, CSRF, redirects."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from syncd.api.app import create_app
from syncd.config import load_settings
from syncd.identity.accounts import create_account_with_password
from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.tenants import create_application

PASSWORD = "correct horse battery"


@pytest.fixture
def world(tmp_path: Path, secret_key: str) -> Iterator[tuple[TestClient, str]]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}", secret_keys=[secret_key]
    )
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    with session_scope(engine) as session:
        app_id = create_application(session, SecretBox([secret_key]), "t").application.id
        create_account_with_password(
            session, app_id, "pat@example.com", PASSWORD, now=dt.datetime.now(dt.UTC)
        )
    # https base URL: the cookies are Secure, as in production.
    with TestClient(create_app(settings, engine), base_url="https://testserver") as client:
        yield client, app_id
    engine.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, app_id: str, next_path: str = "") -> object:
    page = client.get(f"/my/sign-in?app={app_id}")
    return client.post(
        "/my/sign-in",
        data={
            "csrf_token": csrf_of(page.text),
            "app": app_id,
            "email": "pat@example.com",
            "password": PASSWORD,
            "next": next_path,
        },
        follow_redirects=False,
    )


def test_every_page_has_a_strict_content_security_policy(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    for path in (f"/my/sign-in?app={app_id}", "/my/invite/nope", "/my/no-such-page"):
        policy = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy


def test_pages_are_not_cached_but_their_static_files_may_be(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    assert client.get(f"/my/sign-in?app={app_id}").headers["cache-control"] == "no-store"
    static = client.get("/my/static/htmx.min.js")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["x-content-type-options"] == "nosniff"


def test_the_api_gets_none_of_the_pages_headers(world: tuple[TestClient, str]) -> None:
    client, _ = world
    answer = client.get("/healthz")
    assert "content-security-policy" not in answer.headers
    assert "x-frame-options" not in answer.headers


def test_pages_carry_no_inline_script(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    html = client.get(f"/my/sign-in?app={app_id}").text
    assert all(re.search(r"src=", tag) for tag in re.findall(r"<script[^>]*>", html))
    assert " style=" not in html and "<style" not in html


def test_the_session_cookie_is_secure_httponly_and_samesite(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    response = sign_in(client, app_id)
    cookie = next(c for c in response.headers.get_list("set-cookie") if "syncd_session" in c)  # type: ignore[attr-defined]
    assert cookie.startswith("__Host-syncd_session=")
    assert (
        "Secure" in cookie
        and "HttpOnly" in cookie
        and "SameSite=lax" in cookie
        and "Path=/" in cookie
    )


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/", "//evil.example/my", "/my/\\evil", "/elsewhere", "/my//evil.example"],
)
def test_next_never_leaves_the_pages(world: tuple[TestClient, str], next_path: str) -> None:
    client, app_id = world
    response = sign_in(client, app_id, next_path)
    assert response.headers["location"] == "/my"  # type: ignore[attr-defined]


def test_next_within_the_pages_is_followed(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    assert sign_in(client, app_id, "/my/?tab=1").headers["location"] == "/my/?tab=1"  # type: ignore[attr-defined]


def test_a_form_without_its_csrf_token_is_refused(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    client.get(f"/my/sign-in?app={app_id}")
    response = client.post(
        "/my/sign-in", data={"app": app_id, "email": "pat@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "syncd_session" not in response.headers.get("set-cookie", "")


def test_a_cross_site_post_is_refused_even_with_a_token(world: tuple[TestClient, str]) -> None:
    client, app_id = world
    token = csrf_of(client.get(f"/my/sign-in?app={app_id}").text)
    response = client.post(
        "/my/sign-in",
        data={"csrf_token": token, "app": app_id, "email": "pat@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_a_page_asks_to_sign_in_and_comes_back(world: tuple[TestClient, str]) -> None:
    client, _ = world
    response = client.get("/my/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/my/sign-in?next=%2Fmy%2F"


def test_a_sign_in_link_for_an_unknown_application_says_so(world: tuple[TestClient, str]) -> None:
    client, _ = world
    response = client.get("/my/sign-in?app=app_nope")
    assert response.status_code == 404
    assert "sign-in link your application gave you" in response.text


def test_an_api_error_is_still_json(world: tuple[TestClient, str]) -> None:
    client, _ = world
    response = client.get("/v1/calendars")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
