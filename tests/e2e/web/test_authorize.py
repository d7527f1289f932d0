"""The hosted OAuth authorization flow in a real browser: an application sends a new
user to ``/oauth/authorize``; they create an account, connect a calendar service (a
CalDAV account on Radicale, or Google through the emulator's consent screen) and land
back on the application with a code that pycronofy exchanges for tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from syncd.radicale_server import RadicaleServer
from syncd.store.db import session_scope
from syncd.store.profiles import find_profile, list_profiles, revoke_profile_access
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.google import DEFAULT_USER, GoogleCalendarEmulator
from tests.support.browser import PASSWORD, WebWorld, live_web, sign_in
from tests.support.oauth_app import OAuthApp, oauth_app
from tests.support.radicale import HTPASSWD_PASSWORD, HTPASSWD_USER, CalDAVAccount


@dataclass
class Flow:
    web: WebWorld
    google: GoogleCalendarEmulator
    app: OAuthApp


@pytest.fixture
def flow(tmp_path: Path, secret_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks http
    with GoogleCalendarEmulator() as google:
        google.add_calendar(DEFAULT_USER, primary=True)
        google_settings = {
            "client_id": google.client_id,
            "client_secret": google.client_secret,
            "api_base_url": google.base_url,
            "token_url": google.token_url,
            "authorize_url": google.authorize_url,
        }
        with (
            live_web(
                tmp_path, secret_key, caldav_allowed_hosts=["127.0.0.1"], google=google_settings
            ) as web,
            oauth_app(web.engine, web.box) as app,
        ):
            yield Flow(web, google, app)


def start(page: Any, flow: Flow, state: str = "st-42", **options: Any) -> None:
    """The application sends the person to its pycronofy ``user_auth_link``."""
    url = flow.app.sdk(flow.web.server.url).user_auth_link(
        flow.app.redirect_uri, state=state, **options
    )
    page.goto(url)


def create_account(page: Any, email: str = "new.person@example.com") -> None:
    page.get_by_label("Your email").fill(email)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def fill_caldav(page: Any, url: str, user: str, password: str) -> None:
    page.get_by_role("link", name="Another CalDAV server").click()
    page.get_by_label("Server address").fill(url)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Connect").click()


def back_at_app(page: Any, flow: Flow) -> dict[str, str]:
    page.wait_for_url(flow.app.redirect_uri + "?*")
    expect(page.get_by_role("heading", name="Back at the app")).to_be_visible()
    return flow.app.received[-1]


def test_a_new_user_connects_a_caldav_account_and_the_app_exchanges_the_code(
    page: Any, flow: Flow, caldav_account: CalDAVAccount
) -> None:
    start(page, flow)
    expect(page.get_by_role("heading", name="Connect your calendar to Example app")).to_be_visible()
    create_account(page)
    expect(page.get_by_text("Example app would like to:")).to_be_visible()
    fill_caldav(page, caldav_account.server.url + "/", caldav_account.user, "any-password")
    answer = back_at_app(page, flow)
    assert answer["state"] == "st-42" and answer["code"]

    client = flow.app.sdk(flow.web.server.url)
    client.get_authorization_from_code(answer["code"], redirect_uri=flow.app.redirect_uri)
    info = client.userinfo()
    assert info["email"] == "new.person@example.com"
    (profile,) = info["cronofy.data"]["profiles"]
    assert (profile["provider_name"], profile["profile_name"]) == ("caldav", caldav_account.user)
    assert page.problems == []  # no CSP violation on the way


def test_a_new_user_connects_google_through_its_consent_screen(page: Any, flow: Flow) -> None:
    start(page, flow, provider_name="google")
    create_account(page, "g.person@example.com")
    page.get_by_role("link", name="Google").click()  # the emulator's consent, and back
    answer = back_at_app(page, flow)
    assert answer["state"] == "st-42"

    client = flow.app.sdk(flow.web.server.url)
    client.get_authorization_from_code(answer["code"], redirect_uri=flow.app.redirect_uri)
    (profile,) = client.userinfo()["cronofy.data"]["profiles"]
    assert (profile["provider_name"], profile["profile_name"]) == ("google", DEFAULT_USER)


def test_declining_sends_access_denied_and_the_state_back(page: Any, flow: Flow) -> None:
    start(page, flow, state="keep-me")
    create_account(page, "no.thanks@example.com")
    page.get_by_role("button", name="Don't allow").click()
    answer = back_at_app(page, flow)
    assert (answer["error"], answer["state"]) == ("access_denied", "keep-me")
    assert "code" not in answer


def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(
    page: Any, flow: Flow
) -> None:
    query = {
        "response_type": "code",
        "client_id": flow.app.client_id,
        "redirect_uri": "https://evil.example.net/steal",
        "scope": "read_account",
        "state": "s",
    }
    answer = page.goto(f"{flow.web.server.url}/oauth/authorize?{urlencode(query)}")
    assert answer.status == 400
    assert page.url.startswith(flow.web.server.url)
    expect(page.get_by_role("alert")).to_contain_text("is not a redirect URI registered")
    assert flow.app.received == []


def test_a_wrong_caldav_password_is_refused_clearly_and_nothing_is_saved(
    page: Any, flow: Flow, radicale_htpasswd_server: RadicaleServer
) -> None:
    start(page, flow)
    create_account(page, "typo@example.com")
    fill_caldav(page, radicale_htpasswd_server.url + "/", HTPASSWD_USER, "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("refused the username or password")
    expect(page.get_by_label("Username")).to_have_value(HTPASSWD_USER)
    with session_scope(flow.web.engine) as session:
        assert list_profiles(session) == []
    assert flow.app.received == []

    page.get_by_label("Password").fill(HTPASSWD_PASSWORD)  # the right one this time
    page.get_by_role("button", name="Connect").click()
    assert back_at_app(page, flow)["code"]


def test_a_private_caldav_address_is_refused_unless_allowed(
    page: Any, tmp_path: Path, secret_key: str, caldav_account: CalDAVAccount
) -> None:
    with live_web(tmp_path, secret_key) as web, oauth_app(web.engine, web.box) as app:
        page.goto(app.sdk(web.server.url).user_auth_link(app.redirect_uri, state="s"))
        create_account(page)
        fill_caldav(page, caldav_account.server.url + "/", caldav_account.user, "pw")
        expect(page.get_by_role("alert")).to_contain_text("must start with https://")
        with session_scope(web.engine) as session:
            assert list_profiles(session) == []


def test_an_existing_user_signs_in_during_the_flow(
    page: Any, flow: Flow, caldav_account: CalDAVAccount
) -> None:
    account = flow.web.account(flow.app.application_id, "known@example.com")
    start(page, flow)
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {account.email}")).to_be_visible()
    fill_caldav(page, caldav_account.server.url + "/", caldav_account.user, "pw")
    code = back_at_app(page, flow)["code"]
    client = flow.app.sdk(flow.web.server.url)
    client.get_authorization_from_code(code, redirect_uri=flow.app.redirect_uri)
    assert client.userinfo()["sub"] == account.id


def test_a_person_with_two_step_sign_in_gives_their_code_during_the_flow(
    page: Any, flow: Flow, caldav_account: CalDAVAccount
) -> None:
    account = flow.web.account(flow.app.application_id, "careful@example.com", totp=True)
    start(page, flow)
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(account.totp_code())
    page.get_by_role("button", name="Continue").click()
    fill_caldav(page, caldav_account.server.url + "/", caldav_account.user, "pw")
    assert back_at_app(page, flow)["code"]


def test_a_person_with_calendars_may_allow_without_adding_another(
    page: Any, flow: Flow, caldav_account: CalDAVAccount
) -> None:
    account = flow.web.account(flow.app.application_id, "has.one@example.com")
    flow.web.google_profile(account, flow.google, DEFAULT_USER)
    sign_in(page, flow.web, account)
    start(page, flow, state="again")
    page.get_by_role("button", name="Allow with the calendars already connected").click()
    answer = back_at_app(page, flow)
    client = flow.app.sdk(flow.web.server.url)
    client.get_authorization_from_code(answer["code"], redirect_uri=flow.app.redirect_uri)
    (profile,) = client.userinfo()["cronofy.data"]["profiles"]
    assert profile["provider_name"] == "google"


def test_a_disconnected_google_profile_reconnects_through_googles_consent(
    page: Any, flow: Flow
) -> None:
    account = flow.web.account()
    profile_id, _ = flow.web.google_profile(account, flow.google, DEFAULT_USER)
    with session_scope(flow.web.engine) as session:
        revoke_profile_access(session, flow.web.box, find_profile(session, profile_id))
    sign_in(page, flow.web, account)
    page.goto(flow.web.url("/calendars"))
    page.get_by_role("link", name=f"Reconnect Google Workspace ({DEFAULT_USER})").click()
    expect(page.get_by_role("status")).to_contain_text("Reconnected")
    context = SyncContext(flow.web.engine, flow.web.settings, flow.web.box, worker_id="test")
    assert sync_profile(context, profile_id).outcome == "ok"
    page.reload()
    expect(page.get_by_role("region", name="Connected services")).to_contain_text("Up to date")


@pytest.mark.viewport(375, 740)
def test_the_flows_pages_fit_a_phone(page: Any, flow: Flow) -> None:
    def fits() -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url

    start(page, flow)
    fits()
    create_account(page, "phone@example.com")
    expect(page.get_by_role("heading", name="Connect your calendar")).to_be_visible()
    fits()
    page.get_by_role("link", name="Another CalDAV server").click()
    expect(page.get_by_label("Server address")).to_be_visible()
    fits()


def test_the_flow_works_with_the_keyboard_alone(
    page: Any, flow: Flow, caldav_account: CalDAVAccount
) -> None:
    def tab_to(target: Any) -> None:
        for _ in range(40):
            if target.evaluate("element => element === document.activeElement"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {target}")

    start(page, flow)
    for label, text in (
        ("Your email", "keys@example.com"),
        ("New password", PASSWORD),
        ("New password again", PASSWORD),
    ):
        tab_to(page.get_by_label(label, exact=True))
        page.keyboard.type(text)
    page.keyboard.press("Enter")
    tab_to(page.get_by_role("link", name="Another CalDAV server"))
    page.keyboard.press("Enter")
    for label, text in (
        ("Server address", caldav_account.server.url + "/"),
        ("Username", caldav_account.user),
        ("Password", "pw"),
    ):
        tab_to(page.get_by_label(label, exact=True))
        page.keyboard.type(text)
    page.keyboard.press("Enter")
    assert back_at_app(page, flow)["code"]
