"""pycronofy's OAuth methods, unchanged, against a live syncd: ``get_authorization_from_code``,
``refresh_authorization``, ``account``, ``revoke_profile``, ``revoke_authorization`` and
``hmac_valid`` (the hosted ``user_auth_link`` flow is driven by a browser in tests/e2e)."""

from __future__ import annotations

import datetime as dt

import pycronofy
import pytest
from pycronofy.exceptions import PyCronofyRequestError
from sqlalchemy import Engine

from syncd.api.server import ApiServer
from syncd.notify.outbox import sign
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.oauth import issue_code
from syncd.store.tenants import find_account, find_application, rotate_api_key
from tests.support.api import ApiAccount, ApiApplication, ApiWorld

REDIRECT = "https://app.example.com/oauth/callback"


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme", [REDIRECT])


@pytest.fixture
def ada(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "ada@example.com")
    api_world.profile(account, name="ada@gmail.com")
    api_world.calendar(account, "Work", primary=True)
    return account


def sdk(server: ApiServer, tenant: ApiApplication) -> pycronofy.Client:
    client = pycronofy.Client(client_id=tenant.client_id, client_secret=tenant.api_key)
    client.request_handler.base_url = server.url
    client.app_base_url = server.url
    return client


def consent(engine: Engine, tenant: ApiApplication, account: ApiAccount, scope: str) -> str:
    """What the hosted authorize flow leaves after the person agrees: a code."""
    with session_scope(engine) as session:
        return issue_code(
            session,
            find_application(session, tenant.id),
            find_account(session, account.id),
            REDIRECT,
            scope,
            profile_id=account.profile_ids[0],
        )


@pytest.fixture
def authorized(
    api_server: ApiServer, engine: Engine, tenant: ApiApplication, ada: ApiAccount
) -> pycronofy.Client:
    client = sdk(api_server, tenant)
    client.user_auth_link(REDIRECT, state="xyz")  # remembers the redirect_uri, as apps do
    code = consent(engine, tenant, ada, " ".join(pycronofy.settings.DEFAULT_OAUTH_SCOPE))
    client.get_authorization_from_code(code)
    return client


def test_user_auth_link_points_at_syncds_authorize_endpoint(
    api_server: ApiServer, tenant: ApiApplication
) -> None:
    url = sdk(api_server, tenant).user_auth_link(REDIRECT, scope="read_account", state="s1")
    assert url.startswith(f"{api_server.url}/oauth/authorize?response_type=code")
    assert f"client_id={tenant.client_id}" in url


def test_get_authorization_from_code_gives_tokens_that_work(
    authorized: pycronofy.Client, ada: ApiAccount
) -> None:
    assert authorized.auth.access_token and authorized.auth.refresh_token
    assert authorized.auth.token_expiration > dt.datetime.now(dt.UTC)
    assert authorized.userinfo()["sub"] == ada.id
    (calendar,) = authorized.list_calendars()
    assert calendar["calendar_id"] == ada.calendar_ids[0]


def test_account_reads_the_authorized_account(
    authorized: pycronofy.Client, ada: ApiAccount
) -> None:
    account = authorized.account()
    assert account["account_id"] == ada.id
    assert account["email"] == "ada@example.com"
    assert account["scope"] == " ".join(pycronofy.settings.DEFAULT_OAUTH_SCOPE)


def test_refresh_authorization_rotates_the_tokens(authorized: pycronofy.Client) -> None:
    before = (authorized.auth.access_token, authorized.auth.refresh_token)
    refreshed = authorized.refresh_authorization()
    assert (refreshed["access_token"], refreshed["refresh_token"]) != before
    assert authorized.account()["account_id"]


def test_revoke_authorization_stops_the_tokens(
    api_server: ApiServer, tenant: ApiApplication, authorized: pycronofy.Client
) -> None:
    access_token = authorized.auth.access_token
    authorized.revoke_authorization()
    stale = pycronofy.Client(access_token=access_token)
    stale.request_handler.base_url = api_server.url
    with pytest.raises(PyCronofyRequestError):
        stale.account()


def test_revoke_profile_disconnects_it(authorized: pycronofy.Client, ada: ApiAccount) -> None:
    authorized.revoke_profile(ada.profile_ids[0])
    (profile,) = authorized.list_profiles()
    assert profile["profile_connected"] is False
    assert profile["profile_relink_url"].endswith(f"/oauth/profiles/{ada.profile_ids[0]}/relink")


def test_a_wrong_client_secret_fails_the_exchange(
    api_server: ApiServer, engine: Engine, tenant: ApiApplication, ada: ApiAccount
) -> None:
    client = pycronofy.Client(client_id=tenant.client_id, client_secret="sk_wrong")
    client.request_handler.base_url = api_server.url
    with pytest.raises(PyCronofyRequestError) as raised:
        client.get_authorization_from_code(consent(engine, tenant, ada, "read_account"), REDIRECT)
    assert raised.value.response.status_code == 401


def test_hmac_valid_accepts_either_signature_during_a_key_rotation(
    engine: Engine, box: SecretBox, tenant: ApiApplication
) -> None:
    with session_scope(engine) as session:
        _row, new_key = rotate_api_key(session, box, tenant.id)
    body = '{"notification":{"type":"change"}}'
    header = sign([new_key, tenant.api_key], body.encode())
    for secret in (tenant.api_key, new_key):
        assert pycronofy.Client(client_secret=secret).hmac_valid(header, body)
    assert not pycronofy.Client(client_secret="sk_other").hmac_valid(header, body)
