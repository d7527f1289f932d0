"""``POST /v1/accounts/{account_id}/password_invite``: an application gives one of its
accounts' people a one-time link to set a first password on the hosted pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from syncd.identity.accounts import set_password
from syncd.store.db import session_scope
from tests.support.api import NOW, ApiAccount, ApiApplication, ApiWorld


@pytest.fixture
def acme(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def ada(api_world: ApiWorld, acme: ApiApplication) -> ApiAccount:
    return api_world.account(acme, "ada@example.com")


def test_the_application_gets_a_one_time_link_for_an_account_without_a_password(
    api_client: TestClient, acme: ApiApplication, ada: ApiAccount
) -> None:
    answer = api_client.post(f"/v1/accounts/{ada.id}/password_invite", headers=acme.auth())
    assert answer.status_code == 201
    invite = answer.json()["password_invite"]
    assert invite["account_id"] == ada.id
    assert invite["expires_at"] > NOW.isoformat()
    page = api_client.get(urlsplit(invite["url"]).path)
    assert page.status_code == 200 and "password" in page.text.lower()


def test_an_account_that_has_a_password_is_refused_409(
    api_client: TestClient, engine: Engine, acme: ApiApplication, ada: ApiAccount
) -> None:
    with session_scope(engine) as session:
        set_password(session, ada.id, "correct horse battery staple", NOW)
    answer = api_client.post(f"/v1/accounts/{ada.id}/password_invite", headers=acme.auth())
    assert answer.status_code == 409
    assert "Account Security" in answer.text


def test_another_applications_account_is_a_404(
    api_client: TestClient, api_world: ApiWorld, ada: ApiAccount
) -> None:
    other = api_world.application("other")
    answer = api_client.post(f"/v1/accounts/{ada.id}/password_invite", headers=other.auth())
    assert answer.status_code == 404


def test_an_accounts_own_access_token_is_refused_403(
    api_client: TestClient, ada: ApiAccount
) -> None:
    answer = api_client.post(f"/v1/accounts/{ada.id}/password_invite", headers=ada.auth())
    assert answer.status_code == 403
