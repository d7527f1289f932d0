"""The ``cronofy`` npm SDK's OAuth calls, unchanged, against a live syncd: the same flow
the pycronofy suite drives (tests/contract/test_api_sdk_oauth.py) through Node.

``requestAccessToken`` (the code comes from syncd's own consent step,
``syncd.store.oauth.issue_code``, as the hosted authorize pages leave it),
``refreshAccessToken``, ``accountInformation``, ``revokeProfileAuthorization``,
``revokeAuthorization`` (the SDK sends the ``refresh_token`` it holds, without a
``token``), and ``hmacValid`` on a webhook a real daemon delivered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pycronofy
import pytest
from sqlalchemy import Engine

from syncd.api.server import ApiServer
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.oauth import issue_code
from syncd.store.tenants import find_account, find_application
from tests.support.api import ApiAccount, ApiApplication, ApiWorld
from tests.support.conferencing_live import LiveWorld, event_body, live_world
from tests.support.sdk_js import JsRunner, cronofy_js, js_call

__all__ = ["cronofy_js"]  # the shared fixture, from tests/support/sdk_js.py

REDIRECT = "https://app.example.com/oauth/callback"
SCOPE = " ".join(pycronofy.settings.DEFAULT_OAUTH_SCOPE)


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme", [REDIRECT])


@pytest.fixture
def ada(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "ada@example.com")
    api_world.profile(account, name="ada@gmail.com")
    api_world.calendar(account, "Work", primary=True)
    return account


def consent(engine: Engine, tenant: ApiApplication, account: ApiAccount) -> str:
    """What the hosted authorize flow leaves after the person agrees: a code."""
    with session_scope(engine) as session:
        return issue_code(
            session,
            find_application(session, tenant.id),
            find_account(session, account.id),
            REDIRECT,
            SCOPE,
            profile_id=account.profile_ids[0],
        )


def app_config(tenant: ApiApplication, **extra: str) -> dict[str, str]:
    return {"client_id": tenant.client_id, "client_secret": tenant.api_key, **extra}


def ok(results: dict[str, Any], name: str) -> Any:
    result = results[name]
    assert result["ok"], f"{name}: {result}"
    return result["value"]


@pytest.fixture
def tokens(
    api_server: ApiServer,
    cronofy_js: JsRunner,
    engine: Engine,
    tenant: ApiApplication,
    ada: ApiAccount,
) -> dict[str, Any]:
    """``requestAccessToken`` with a fresh code: the token answer."""
    options = {"code": consent(engine, tenant, ada), "redirect_uri": REDIRECT}
    results = cronofy_js(
        api_server.url,
        [js_call("token", "requestAccessToken", config=app_config(tenant), options=options)],
    )
    token: dict[str, Any] = ok(results, "token")
    return token


def test_request_access_token_gives_tokens_that_work(
    api_server: ApiServer, cronofy_js: JsRunner, tokens: dict[str, Any], ada: ApiAccount
) -> None:
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] > 0
    assert (tokens["scope"], tokens["account_id"]) == (SCOPE, ada.id)
    mine = {"access_token": tokens["access_token"]}

    results = cronofy_js(
        api_server.url,
        [
            js_call("userinfo", "userInfo", config=mine),
            js_call("calendars", "listCalendars", config=mine),
        ],
    )

    assert ok(results, "userinfo")["sub"] == ada.id
    (calendar,) = ok(results, "calendars")["calendars"]
    assert calendar["calendar_id"] == ada.calendar_ids[0]


def test_account_information_reads_the_authorized_account(
    api_server: ApiServer, cronofy_js: JsRunner, tokens: dict[str, Any], ada: ApiAccount
) -> None:
    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "account",
                "accountInformation",
                config={"access_token": tokens["access_token"]},
            )
        ],
    )

    account = ok(results, "account")["account"]
    assert (account["account_id"], account["email"]) == (ada.id, "ada@example.com")
    assert account["scope"] == SCOPE


def test_refresh_access_token_rotates_the_tokens(
    api_server: ApiServer, cronofy_js: JsRunner, tenant: ApiApplication, tokens: dict[str, Any]
) -> None:
    config = app_config(tenant, refresh_token=tokens["refresh_token"])
    results = cronofy_js(api_server.url, [js_call("refresh", "refreshAccessToken", config=config)])

    refreshed = ok(results, "refresh")
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    after = cronofy_js(
        api_server.url,
        [
            js_call(
                "account",
                "accountInformation",
                config={"access_token": refreshed["access_token"]},
            )
        ],
    )
    assert ok(after, "account")["account"]["account_id"]


def test_revoke_authorization_with_the_sdks_refresh_token_stops_the_tokens(
    api_server: ApiServer, cronofy_js: JsRunner, tenant: ApiApplication, tokens: dict[str, Any]
) -> None:
    config = app_config(tenant, refresh_token=tokens["refresh_token"])
    results = cronofy_js(
        api_server.url,
        [
            js_call("revoke", "revokeAuthorization", config=config),
            js_call(
                "after",
                "accountInformation",
                config={"access_token": tokens["access_token"]},
            ),
        ],
    )

    assert results["revoke"]["ok"], results["revoke"]
    assert (results["after"]["ok"], results["after"]["status"]) == (False, 401)


def test_revoke_profile_authorization_disconnects_it(
    api_server: ApiServer, cronofy_js: JsRunner, tokens: dict[str, Any], ada: ApiAccount
) -> None:
    mine = {"access_token": tokens["access_token"]}
    results = cronofy_js(
        api_server.url,
        [
            js_call(
                "revoke",
                "revokeProfileAuthorization",
                config=mine,
                options={"profile_id": ada.profile_ids[0]},
            ),
            js_call("profiles", "profileInformation", config=mine),
        ],
    )

    assert results["revoke"] == {"ok": True, "value": ""}
    (profile,) = ok(results, "profiles")["profiles"]
    assert profile["profile_connected"] is False
    assert profile["profile_relink_url"].endswith(f"/oauth/profiles/{ada.profile_ids[0]}/relink")


def test_a_wrong_client_secret_fails_the_exchange(
    api_server: ApiServer,
    cronofy_js: JsRunner,
    engine: Engine,
    tenant: ApiApplication,
    ada: ApiAccount,
) -> None:
    options = {"code": consent(engine, tenant, ada), "redirect_uri": REDIRECT}
    config = {"client_id": tenant.client_id, "client_secret": "sk_wrong"}
    results = cronofy_js(
        api_server.url,
        [js_call("token", "requestAccessToken", config=config, options=options)],
    )

    assert (results["token"]["ok"], results["token"]["status"]) == (False, 401)


# --------------------------------------------------------------------------- hmacValid


@pytest.fixture
def live(engine: Engine, database_url: str, secret_key: str, box: SecretBox) -> Iterator[LiveWorld]:
    with live_world(engine, database_url, secret_key, box) as world:
        yield world


def test_hmac_valid_accepts_a_webhook_the_daemon_signed(
    live: LiveWorld, cronofy_js: JsRunner
) -> None:
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), dt.UTC)
    subscriptions = [
        {
            "type": "webhook",
            "uri": live.receiver.url(),
            "interactions": [{"type": "conferencing_assigned"}],
        }
    ]
    conferencing = {
        "profile_id": "explicit",
        "provider_description": "Videotech",
        "join_url": "https://videotech.example/join/1",
    }
    live.sdk().upsert_event(
        live.google_calendar,
        event_body("signed", start, conferencing=conferencing, subscriptions=subscriptions),
    )
    (delivery,) = live.wait_for_webhooks(1)
    header, body = delivery.headers["cronofy-hmac-sha256"], delivery.body.decode()
    assert live.server is not None

    results = cronofy_js(
        live.server.url,
        [
            js_call(
                "valid",
                "hmacValid",
                config={"client_secret": live.client_secret},
                options={"hmac": header, "body": body},
            ),
            js_call(
                "other_secret",
                "hmacValid",
                config={"client_secret": "sk_other"},
                options={"hmac": header, "body": body},
            ),
            js_call(
                "changed_body",
                "hmacValid",
                config={"client_secret": live.client_secret},
                options={"hmac": header, "body": body + " "},
            ),
        ],
    )

    assert ok(results, "valid") is True
    assert ok(results, "other_secret") is False
    assert ok(results, "changed_body") is False
