"""``/v1/personalized_links``: links made from a person's template for one recipient,
with an extension token, an access token or the application's key and ``sub``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from syncd.config import Settings
from syncd.scheduling.personal import TemplateFields, create_template
from syncd.store.db import session_scope
from syncd.store.personal_links import (
    add_extension_token,
    extension_tokens_of_account,
    revoke_extension_token,
)
from syncd.store.tenants import find_account
from tests.support.api import ApiAccount, ApiApplication, ApiWorld


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    return account


@pytest.fixture
def template_id(engine: Engine, settings: Settings, alice: ApiAccount) -> str:
    with session_scope(engine) as session:
        fields = TemplateFields("Intro call", 30, alice.calendar_ids[0])
        return create_template(session, settings, find_account(session, alice.id), fields).id


def extension_token(engine: Engine, account: ApiAccount) -> dict[str, str]:
    with session_scope(engine) as session:
        _, token = add_extension_token(session, account.id, "laptop")
    return {"Authorization": f"Bearer {token}"}


def body(template_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "recipient": {"email": "cara@example.com", "name": "Cara Candidate"},
        "correlation_id": "crm-42",
        "event": {"summary": "Call with Cara"},
        **extra,
    }


def test_an_extension_token_makes_a_single_use_link_prefilled_with_the_recipient(
    api_client: TestClient, engine: Engine, alice: ApiAccount, template_id: str
) -> None:
    response = api_client.post(
        "/v1/personalized_links", headers=extension_token(engine, alice), json=body(template_id)
    )
    assert response.status_code == 200, response.json()
    link = response.json()["personalized_link"]
    assert link["real_time_scheduling_id"].startswith("sch_")
    assert "/rts/" in link["url"]
    assert link["status"] == "open"
    assert link["link_kind"] == "single_use"
    assert link["recipient"] == {"email": "cara@example.com", "name": "Cara Candidate"}
    assert link["correlation_id"] == "crm-42"
    assert link["event"] == {"summary": "Call with Cara"}


def test_a_reusable_link_is_answered_as_reusable(
    api_client: TestClient, engine: Engine, alice: ApiAccount, template_id: str
) -> None:
    response = api_client.post(
        "/v1/personalized_links",
        headers=extension_token(engine, alice),
        json=body(template_id, link_kind="reusable"),
    )
    assert response.json()["personalized_link"]["link_kind"] == "reusable"


def test_the_link_is_a_real_time_scheduling_link_of_the_application(
    api_client: TestClient, alice: ApiAccount, tenant: ApiApplication, template_id: str
) -> None:
    made = api_client.post("/v1/personalized_links", headers=alice.auth(), json=body(template_id))
    link_id = made.json()["personalized_link"]["real_time_scheduling_id"]
    status = api_client.get(f"/v1/real_time_scheduling/{link_id}", headers=tenant.auth())
    assert status.status_code == 200
    assert status.json()["real_time_scheduling"]["status"] == "open"


def test_the_applications_key_makes_links_for_the_account_named_by_sub(
    api_client: TestClient, alice: ApiAccount, tenant: ApiApplication, template_id: str
) -> None:
    response = api_client.post(
        "/v1/personalized_links", headers=tenant.auth(), json=body(template_id, sub=alice.id)
    )
    assert response.status_code == 200, response.json()


def test_the_applications_key_without_sub_is_422(
    api_client: TestClient, tenant: ApiApplication, template_id: str
) -> None:
    response = api_client.post(
        "/v1/personalized_links", headers=tenant.auth(), json=body(template_id)
    )
    assert response.status_code == 422
    assert "sub" in response.json()["errors"]


def test_another_persons_template_is_404(
    api_client: TestClient,
    api_world: ApiWorld,
    engine: Engine,
    tenant: ApiApplication,
    template_id: str,
) -> None:
    bob = api_world.account(tenant, "bob@example.com")
    response = api_client.post(
        "/v1/personalized_links", headers=extension_token(engine, bob), json=body(template_id)
    )
    assert response.status_code == 404


def test_a_recipient_without_an_email_address_is_422(
    api_client: TestClient, engine: Engine, alice: ApiAccount, template_id: str
) -> None:
    response = api_client.post(
        "/v1/personalized_links",
        headers=extension_token(engine, alice),
        json=body(template_id, recipient={"email": "not an address"}),
    )
    assert response.status_code == 422
    assert "recipient.email" in response.json()["errors"]


def test_an_unknown_link_kind_is_422(
    api_client: TestClient, engine: Engine, alice: ApiAccount, template_id: str
) -> None:
    response = api_client.post(
        "/v1/personalized_links",
        headers=extension_token(engine, alice),
        json=body(template_id, link_kind="forever"),
    )
    assert response.status_code == 422


def test_a_revoked_extension_token_is_401(
    api_client: TestClient, engine: Engine, alice: ApiAccount, template_id: str
) -> None:
    headers = extension_token(engine, alice)
    with session_scope(engine) as session:
        (row,) = extension_tokens_of_account(session, alice.id)
        revoke_extension_token(session, alice.id, row.id)
    response = api_client.post("/v1/personalized_links", headers=headers, json=body(template_id))
    assert response.status_code == 401


def test_an_extension_token_is_refused_everywhere_else(
    api_client: TestClient, engine: Engine, alice: ApiAccount
) -> None:
    headers = extension_token(engine, alice)
    assert api_client.get("/v1/calendars", headers=headers).status_code == 401
    rule = {"availability_rule_id": "x", "tzid": "Etc/UTC", "weekly_periods": []}
    assert api_client.post("/v1/availability_rules", headers=headers, json=rule).status_code == 401


def test_the_templates_are_listed_for_the_extensions_picker(
    api_client: TestClient, engine: Engine, alice: ApiAccount, template_id: str
) -> None:
    response = api_client.get(
        "/v1/personalized_links/templates", headers=extension_token(engine, alice)
    )
    assert response.status_code == 200
    assert response.json()["link_templates"] == [
        {"template_id": template_id, "name": "Intro call", "duration_minutes": 30}
    ]


def test_another_applications_key_cannot_make_links_for_the_account(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount, template_id: str
) -> None:
    other = api_world.application("other")
    response = api_client.post(
        "/v1/personalized_links", headers=other.auth(), json=body(template_id, sub=alice.id)
    )
    assert response.status_code == 404
