"""The hosted authorization flow's rules, in-process: where the browser may be sent,
which page allows a form to reach the application, and that each step refuses anyone
the flow is not for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from syncd.api.app import create_app
from syncd.authorization.flow import Flow
from syncd.config import load_settings
from syncd.identity.accounts import create_account_with_password
from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_application

PASSWORD = "correct horse battery"
REDIRECT = "https://app.example.com/cb"


@dataclass
class World:
    client: TestClient
    box: SecretBox
    client_id: str
    app_id: str
    other_app_id: str
    pat: str
    sam: str
    sams_profile: str


@pytest.fixture
def world(tmp_path: Path, secret_key: str) -> Iterator[World]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        secret_keys=[secret_key],
        google={"client_id": "g-id", "client_secret": "g-secret"},
    )
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    box = SecretBox([secret_key])
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        app = create_application(session, box, "acme", [REDIRECT])
        other = create_application(session, box, "other")
        pat = create_account_with_password(
            session, app.application.id, "pat@example.com", PASSWORD, now=now
        )
        sam = create_account_with_password(
            session, app.application.id, "sam@example.com", PASSWORD, now=now
        )
        create_account_with_password(
            session, other.application.id, "pat@example.com", PASSWORD, now=now
        )
        profile = create_profile(session, box, sam, "caldav", "sam", {"url": "https://x/"})
        ids = (app.client_id, app.application.id, other.application.id, pat.id, sam.id, profile.id)
    with TestClient(create_app(settings, engine), base_url="https://testserver") as client:
        yield World(client, box, *ids)
    engine.dispose()


def authorize_query(world: World, **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": world.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read_account read_events",
        "state": "st",
        **extra,
    }
    return "/oauth/authorize?" + urlencode(query)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def flow_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["flow"][0]


def sign_in(world: World, app_id: str, email: str = "pat@example.com") -> None:
    page = world.client.get(f"/my/sign-in?app={app_id}")
    answer = world.client.post(
        "/my/sign-in",
        data={
            "csrf_token": csrf_of(page.text),
            "app": app_id,
            "email": email,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303


def started(world: World, **extra: str) -> str:
    answer = world.client.get(authorize_query(world, **extra), follow_redirects=False)
    assert answer.status_code == 303
    return flow_of(answer.headers["location"])


def test_an_unknown_client_gets_an_error_page_not_a_redirect(world: World) -> None:
    answer = world.client.get(authorize_query(world, client_id="nobody"), follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert "form-action 'self';" in answer.headers["content-security-policy"]
    assert "not known to this server" in answer.text


def test_a_bad_response_type_goes_back_to_the_application_with_error_and_state(
    world: World,
) -> None:
    answer = world.client.get(authorize_query(world, response_type="token"), follow_redirects=False)
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert parse_qs(urlsplit(location).query)["error"] == ["unsupported_response_type"]
    assert parse_qs(urlsplit(location).query)["state"] == ["st"]


def test_a_valid_request_continues_on_the_pages_with_a_sealed_flow(world: World) -> None:
    flow = Flow.open(world.box, started(world))
    assert (flow.redirect_uri, flow.state, flow.account_id) == (REDIRECT, "st", None)


def test_the_pages_that_end_at_the_application_may_send_forms_to_its_origin_only(
    world: World,
) -> None:
    page = world.client.get("/my/connect?" + urlencode({"flow": started(world)}))
    policy = page.headers["content-security-policy"]
    assert "form-action 'self' https://app.example.com;" in policy
    assert "Sign in" in page.text and "Create account" in page.text


def test_a_signed_in_person_of_the_application_chooses_a_service_at_once(world: World) -> None:
    sign_in(world, world.app_id)
    page = world.client.get("/my/connect?" + urlencode({"flow": started(world)}))
    assert (
        "Choose your calendar service" in page.text and "Signed in as pat@example.com" in page.text
    )


def test_avoid_linking_asks_who_the_person_is_even_when_signed_in(world: World) -> None:
    sign_in(world, world.app_id)
    flow = started(world, avoid_linking="true")
    page = world.client.get("/my/connect?" + urlencode({"flow": flow}))
    assert "Create account" in page.text and "Choose your calendar service" not in page.text


def test_another_applications_account_is_not_continued_as(world: World) -> None:
    sign_in(world, world.other_app_id)
    page = world.client.get("/my/connect?" + urlencode({"flow": started(world)}))
    assert "Create account" in page.text and "Signed in as" not in page.text


def test_the_provider_callback_refuses_a_flow_bound_to_someone_else(world: World) -> None:
    """An attacker's own flow (and code) handed to a victim never links to the victim."""
    flow = dataclasses.replace(
        Flow.open(world.box, started(world)), account_id=world.sam, service="google"
    )
    sign_in(world, world.app_id)  # pat, not sam
    answer = world.client.get(
        "/my/connect/callback?" + urlencode({"state": flow.seal(world.box), "code": "4/code"})
    )
    assert answer.status_code == 400 and "sign in as the person this link is for" in answer.text


def test_a_forged_flow_token_is_refused(world: World) -> None:
    answer = world.client.get("/my/connect?flow=not-a-flow")
    assert answer.status_code == 400 and "not valid" in answer.text


def test_nobody_reconnects_or_removes_another_persons_profile(world: World) -> None:
    sign_in(world, world.app_id)
    for path in ("reconnect", "remove"):
        answer = world.client.get(f"/my/calendars/{world.sams_profile}/{path}")
        assert answer.status_code == 404


def test_a_signed_out_relink_link_leads_to_the_profiles_application_sign_in(
    world: World,
) -> None:
    answer = world.client.get(
        f"/oauth/profiles/{world.sams_profile}/relink", follow_redirects=False
    )
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert urlsplit(answer.headers["location"]).path == "/my/sign-in"
    assert query["app"] == [world.app_id]
    assert query["next"] == [f"/my/calendars/{world.sams_profile}/reconnect"]


def test_oauth_services_are_offered_only_when_the_operator_configured_them(
    world: World,
) -> None:
    sign_in(world, world.app_id)
    page = world.client.get("/my/connect?" + urlencode({"flow": started(world)}))
    assert ">Google</a>" in page.text and "iCloud" in page.text
    assert "Microsoft 365" not in page.text  # no [microsoft] client in this world


def test_signing_up_with_a_taken_email_says_so_without_naming_the_account(
    world: World,
) -> None:
    flow = started(world)
    page = world.client.get("/my/connect?" + urlencode({"flow": flow}))
    answer = world.client.post(
        "/my/connect/sign-up",
        data={
            "csrf_token": csrf_of(page.text),
            "flow": flow,
            "email": "sam@example.com",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert answer.status_code == 409 and "already has an account" in answer.text
    assert world.sam not in answer.text


def _sign_up(world: World, email: str) -> Any:
    world.client.cookies.clear()
    flow = started(world)
    page = world.client.get("/my/connect?" + urlencode({"flow": flow}))
    return world.client.post(
        "/my/connect/sign-up",
        data={
            "csrf_token": csrf_of(page.text),
            "flow": flow,
            "email": email,
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
        follow_redirects=False,
    )


def test_one_address_may_create_only_so_many_accounts_an_hour(world: World) -> None:
    for number in range(10):  # signup_max_per_address_per_hour's default
        assert _sign_up(world, f"new{number}@example.com").status_code != 429
    refused = _sign_up(world, "one-more@example.com")
    assert refused.status_code == 429
    assert "Too many new accounts" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
