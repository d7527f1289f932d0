"""Conferencing service authorization over HTTP: pycronofy's
``get_conferencing_services_auth_link`` → the provider's consent → our callback stores the
profile → the user lands back on the caller's ``redirect_uri``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pycronofy.exceptions import PyCronofyRequestError
from sqlalchemy import Engine, select

from syncd.conferencing import authorize
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, ConferencingProfile
from tests.support.conferencing_live import LiveWorld, event_body, live_world

APP_REDIRECT = "https://app.example.com/conferencing/done?step=2"


@pytest.fixture
def live(engine: Engine, database_url: str, secret_key: str, box: SecretBox) -> Iterator[LiveWorld]:
    with live_world(engine, database_url, secret_key, box, run_daemon=False) as world:
        yield world


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def consent(url: str, code: str) -> requests.Response:
    """The provider sends the user back to our callback with a code."""
    query = query_of(url)
    return requests.get(
        query["redirect_uri"],
        params={"code": code, "state": query["state"]},
        allow_redirects=False,
        timeout=10,
    )


def profiles(world: LiveWorld) -> list[ConferencingProfile]:
    with session_scope(world.engine) as session:
        return list(session.execute(select(ConferencingProfile)).scalars())


def test_zoom_authorization_link_stores_the_profile_and_returns_the_user(
    live: LiveWorld,
) -> None:
    assert live.server is not None
    url = live.sdk().get_conferencing_services_auth_link(APP_REDIRECT, provider_name="zoom")
    assert url.startswith(live.zoom.authorize_url)
    assert query_of(url)["redirect_uri"] == f"{live.server.url}/oauth/conferencing/callback"

    response = consent(url, live.zoom.authorization_code())

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://app.example.com/conferencing/done?step=2&")
    (profile,) = profiles(live)
    assert query_of(location) == {
        "step": "2",
        "profile_id": profile.id,
        "provider_name": "zoom",
    }
    assert (profile.provider, profile.status) == ("zoom", "active")
    assert "access_token" not in profile.credentials_encrypted
    assert live.box.decrypt(profile.credentials_encrypted)["refresh_token"]
    with session_scope(live.engine) as session:
        account = session.get(Account, live.account_id)
        assert account is not None and account.default_conferencing_profile_id == profile.id
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    live.sdk().upsert_event(
        live.google_calendar, event_body("uses-it", start, conferencing={"profile_id": profile.id})
    )


def test_without_provider_name_the_user_chooses_among_configured_services(
    live: LiveWorld,
) -> None:
    url = live.sdk().get_conferencing_services_auth_link(APP_REDIRECT)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    for label in ("Zoom", "GoTo Meeting", "Microsoft Teams", "Google Meet"):
        assert label in page.text
    start = page.text.split('href="')[1].split('"')[0].replace("&amp;", "&")
    redirect = requests.get(start, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    provider_url = redirect.headers["location"]
    assert provider_url.startswith(live.zoom.authorize_url)
    assert consent(provider_url, live.zoom.authorization_code()).status_code == 302
    assert [p.provider for p in profiles(live)] == ["zoom"]


def test_meet_is_authorized_with_the_google_calendar_client(live: LiveWorld) -> None:
    url = live.sdk().get_conferencing_services_auth_link(APP_REDIRECT, provider_name="meet")
    assert url.startswith(live.google.authorize_url)
    response = consent(url, live.google.authorization_code())
    assert response.status_code == 302, response.text
    (profile,) = profiles(live)
    assert (profile.provider, profile.name) == ("meet", "alice@example.com")


def test_a_refused_consent_or_code_returns_the_user_with_an_error(live: LiveWorld) -> None:
    url = live.sdk().get_conferencing_services_auth_link(APP_REDIRECT, provider_name="zoom")
    query = query_of(url)
    denied = requests.get(
        query["redirect_uri"],
        params={"error": "access_denied", "state": query["state"]},
        allow_redirects=False,
        timeout=10,
    )
    bad_code = consent(url, "code-that-was-never-issued")
    assert query_of(denied.headers["location"])["error"] == "access_denied"
    assert query_of(bad_code.headers["location"])["error"] == "access_denied"
    assert profiles(live) == []


@pytest.mark.parametrize("state", ["", "garbage", "expired"])
def test_a_forged_or_expired_state_is_refused_without_redirecting(
    live: LiveWorld, state: str
) -> None:
    assert live.server is not None
    if state == "expired":
        with session_scope(live.engine) as session:
            account = session.get(Account, live.account_id)
            assert account is not None
            state = authorize.issue_state(live.box, account, APP_REDIRECT, "zoom", ttl=-1)
    response = requests.get(
        f"{live.server.url}/oauth/conferencing/callback",
        params={"code": live.zoom.authorization_code(), "state": state},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert profiles(live) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"redirect_uri": APP_REDIRECT, "provider_name": "webex"}, "provider_name"),
    ],
)
def test_bad_authorization_requests_are_422s_naming_the_field(
    live: LiveWorld, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(PyCronofyRequestError) as raised:
        live.sdk().request_handler.post(endpoint="conferencing_service_authorizations", data=body)
    assert raised.value.response.status_code == 422
    assert field in raised.value.response.json()["errors"]


def test_an_unconfigured_service_is_a_422(live: LiveWorld) -> None:
    assert live.server is not None
    live.server.app.state.settings = live.settings.model_copy(
        update={"goto": live.settings.goto.model_copy(update={"client_id": ""})}
    )
    with pytest.raises(PyCronofyRequestError) as raised:
        live.sdk().get_conferencing_services_auth_link(APP_REDIRECT, provider_name="goto")
    (error,) = raised.value.response.json()["errors"]["provider_name"]
    assert error["key"] == "errors.not_configured"
