"""The one connect code path the CLI and the hosted pages share (syncd.sync.connect):
OAuth through the adapter's own URL and exchange (Google emulator), CalDAV checked live
(Radicale), and CalDAV URLs typed by people held to https and public addresses."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from syncd.config import OAuthProviderSettings, Settings
from syncd.errors import UserError
from syncd.radicale_server import RadicaleServer
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Profile
from syncd.store.profiles import profile_credentials
from syncd.store.tenants import create_account, create_application
from syncd.sync import connect
from tests.emulators.google import GoogleCalendarEmulator
from tests.support.google_emulator import google_emulator
from tests.support.radicale import (
    HTPASSWD_PASSWORD,
    HTPASSWD_USER,
    CalDAVAccount,
    caldav_account,
    radicale_htpasswd_server,
    radicale_server,
)

__all__ = ["caldav_account", "google_emulator", "radicale_htpasswd_server", "radicale_server"]

CALLBACK = "http://127.0.0.1:9/oauth/calendar/callback"


@pytest.fixture
def google_settings(settings: Settings, google_emulator: GoogleCalendarEmulator) -> Settings:
    google = OAuthProviderSettings(
        client_id=google_emulator.client_id,
        client_secret=google_emulator.client_secret,
        api_base_url=google_emulator.base_url,
        token_url=google_emulator.token_url,
        authorize_url=google_emulator.authorize_url,
    )
    return settings.model_copy(update={"google": google})


def test_google_is_connected_through_its_consent_screen_and_code_exchange(
    google_settings: Settings,
    google_emulator: GoogleCalendarEmulator,
    engine: Engine,
    box: SecretBox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    google_emulator.add_calendar("alice@example.com", primary=True)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator is plain http
    url = connect.authorization_url(google_settings, "google", "st-9", CALLBACK)
    back = httpx.get(url, follow_redirects=False).headers["location"]
    query = parse_qs(urlsplit(back).query)
    assert back.startswith(CALLBACK) and query["state"] == ["st-9"]
    credentials = connect.exchange_code(google_settings, "google", query["code"][0], CALLBACK)
    with session_scope(engine) as session:
        app = create_application(session, box, "acme").application
        account = create_account(session, app.id, "alice@example.com")
        profile = connect.add_profile(session, google_settings, box, account, "google", credentials)
        assert profile.name == "alice@example.com"
        assert profile_credentials(box, profile)["refresh_token"]


def test_a_declined_google_consent_comes_back_as_access_denied(
    google_settings: Settings,
    google_emulator: GoogleCalendarEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    google_emulator.consent_granted = False
    url = connect.authorization_url(google_settings, "google", "st-9", CALLBACK)
    back = httpx.get(url, follow_redirects=False).headers["location"]
    assert parse_qs(urlsplit(back).query)["error"] == ["access_denied"]


def test_a_refused_code_is_an_authorization_error(
    google_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with pytest.raises(UserError, match="refused the code"):
        connect.exchange_code(google_settings, "google", "4/code-made-up", CALLBACK)


def test_an_unconfigured_provider_says_which_setting_is_missing(settings: Settings) -> None:
    with pytest.raises(UserError, match=r"\[microsoft\] client_id"):
        connect.authorization_url(settings, "microsoft", "st", CALLBACK)


def test_caldav_credentials_are_checked_against_the_server(
    settings: Settings, caldav_account: CalDAVAccount
) -> None:
    assert connect.verify_caldav(settings, caldav_account.credentials, "radicale") == ["Work"]


def test_a_wrong_caldav_password_is_named_as_such(
    settings: Settings, radicale_htpasswd_server: RadicaleServer
) -> None:
    url = radicale_htpasswd_server.url + "/"
    credentials = {"url": url, "username": HTPASSWD_USER, "password": "wrong"}
    with pytest.raises(UserError, match="refused the username or password"):
        connect.verify_caldav(settings, credentials, "radicale")
    good = dict(credentials, password=HTPASSWD_PASSWORD)
    assert connect.verify_caldav(settings, good, "radicale") is not None


def test_an_unreachable_caldav_server_is_named_as_such(settings: Settings) -> None:
    credentials = {"url": "http://127.0.0.1:9/dav/", "username": "u", "password": "p"}
    with pytest.raises(UserError, match="cannot reach"):
        connect.verify_caldav(settings, credentials, "127.0.0.1")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://caldav.example.com/", "https"),
        ("https://127.0.0.1/dav", "not a public server"),
        ("https://10.1.2.3/dav", "not a public server"),
        ("https://[::ffff:192.168.0.1]/dav", "not a public server"),
        ("ftp://caldav.example.com/", "https"),
        ("caldav.example.com", "https"),
    ],
)
def test_people_cannot_point_syncd_at_private_or_plain_http_servers(
    settings: Settings, url: str, why: str
) -> None:
    with pytest.raises(UserError, match=why):
        connect.check_user_server_url(url, settings)


def test_the_operator_may_allow_a_local_caldav_host(settings: Settings) -> None:
    allowed = settings.model_copy(update={"caldav_allowed_hosts": ["127.0.0.1"]})
    assert connect.check_user_server_url("http://127.0.0.1:5232/", allowed)


def test_a_public_https_server_is_accepted(settings: Settings) -> None:
    assert connect.check_user_server_url("https://8.8.8.8/dav/", settings)


def test_an_end_users_server_is_held_to_public_addresses_at_every_connect(
    settings: Settings,
) -> None:
    credentials = connect.user_caldav_credentials("https://8.8.8.8/dav/", "u", "p", settings)
    assert credentials[connect.PUBLIC_ADDRESSES_ONLY] is True


def test_an_allow_listed_server_is_connected_to_as_named(settings: Settings) -> None:
    allowed = settings.model_copy(update={"caldav_allowed_hosts": ["127.0.0.1"]})
    credentials = connect.user_caldav_credentials("http://127.0.0.1:5232/", "u", "p", allowed)
    assert connect.PUBLIC_ADDRESSES_ONLY not in credentials
    assert credentials == {"url": "http://127.0.0.1:5232/", "username": "u", "password": "p"}


def _caldav_profile(
    engine: Engine, box: SecretBox, settings: Settings, credentials: dict[str, str]
) -> str:
    with session_scope(engine) as session:
        app = create_application(session, box, "acme").application
        account = create_account(session, app.id, "alice@example.com")
        return connect.add_profile(session, settings, box, account, "caldav", credentials).id


def _relink(
    engine: Engine, box: SecretBox, settings: Settings, profile_id: str, creds: dict[str, str]
) -> None:
    with session_scope(engine) as session:
        profile = session.get(Profile, profile_id)
        assert profile is not None
        connect.relink_profile(session, settings, box, profile, creds)


def test_reconnecting_with_the_same_account_stores_the_new_password(
    engine: Engine, box: SecretBox, settings: Settings, caldav_account: CalDAVAccount
) -> None:
    profile_id = _caldav_profile(engine, box, settings, caldav_account.credentials)
    renewed = dict(caldav_account.credentials, password="a new one")
    _relink(engine, box, settings, profile_id, renewed)
    with session_scope(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None
        assert profile_credentials(box, stored)["password"] == "a new one"


def test_reconnecting_with_another_account_is_refused_naming_the_one_to_use(
    engine: Engine, box: SecretBox, settings: Settings, caldav_account: CalDAVAccount
) -> None:
    profile_id = _caldav_profile(engine, box, settings, caldav_account.credentials)
    someone_else = dict(caldav_account.credentials, username="mallory")
    with pytest.raises(UserError, match=f"sign in as {caldav_account.user}") as refused:
        _relink(engine, box, settings, profile_id, someone_else)
    assert refused.value.code == "different_account"
    with session_scope(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None
        assert profile_credentials(box, stored)["username"] == caldav_account.user


def test_reconnecting_to_another_caldav_server_is_refused(
    engine: Engine, box: SecretBox, settings: Settings, caldav_account: CalDAVAccount
) -> None:
    profile_id = _caldav_profile(engine, box, settings, caldav_account.credentials)
    elsewhere = dict(caldav_account.credentials, url="http://localhost:9/dav/")
    with pytest.raises(UserError, match="different account"):
        _relink(engine, box, settings, profile_id, elsewhere)
