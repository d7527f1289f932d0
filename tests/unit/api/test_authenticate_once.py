"""A request's bearer credential is looked up once.

A ``/v1`` request with a body is authenticated by the request-limits middleware before
its body is read; the route's dependency takes the caller the middleware found instead
of looking the credential up again. What the middleware hands on counts only for the
header it was found for, and refused credentials stay refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, update
from starlette.types import ASGIApp, Receive, Scope, Send

from syncd.api.auth import AUTHENTICATED, Authenticated, Caller
from syncd.store.db import session_scope
from syncd.store.models import AccessToken, Account, ApiKey, Application, OAuthGrant
from tests.support.api import ApiAccount, ApiApplication, ApiWorld

RULE = {"availability_rule_id": "work", "tzid": "Etc/UTC", "weekly_periods": []}


class Lookups:
    """Counts the statements that read the API key and access token tables."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.statements.append(str(args[2]))

    def of(self, *tables: str) -> int:
        """Statements reading every one of ``tables`` (as the first table or joined)."""
        reads = [re.compile(rf"\b(FROM|JOIN) {table}\b") for table in tables]
        return sum(all(read.search(statement) for read in reads) for statement in self.statements)


@pytest.fixture
def lookups(engine: Engine) -> Iterator[Lookups]:
    counted = Lookups()
    event.listen(engine, "before_cursor_execute", counted)
    yield counted
    event.remove(engine, "before_cursor_execute", counted)


@pytest.fixture
def application(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("once")


@pytest.fixture
def alice(api_world: ApiWorld, application: ApiApplication) -> ApiAccount:
    return api_world.account(application, "alice@example.com")


def availability_body(sub: str) -> dict[str, Any]:
    return {
        "participants": [{"members": [{"sub": sub}]}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2030-01-08T08:00:00Z", "end": "2030-01-08T18:00:00Z"}],
    }


def test_a_post_with_an_access_token_looks_the_token_up_once(
    api_client: TestClient, alice: ApiAccount, lookups: Lookups
) -> None:
    response = api_client.post("/v1/availability_rules", headers=alice.auth(), json=RULE)
    assert response.status_code == 200, response.text
    assert lookups.of(AccessToken.__tablename__) == 1
    assert lookups.of(ApiKey.__tablename__) == 1  # the miss that says it is no API key


def test_an_access_token_is_read_with_its_account_and_grant_in_one_statement(
    api_client: TestClient, alice: ApiAccount, lookups: Lookups
) -> None:
    response = api_client.post("/v1/availability_rules", headers=alice.auth(), json=RULE)
    assert response.status_code == 200, response.text
    token_tables = (AccessToken.__tablename__, Account.__tablename__, OAuthGrant.__tablename__)
    assert lookups.of(*token_tables) == 1
    assert lookups.of(Account.__tablename__) == 1


def test_a_post_with_an_api_key_looks_the_key_up_once(
    api_client: TestClient, application: ApiApplication, alice: ApiAccount, lookups: Lookups
) -> None:
    response = api_client.post(
        "/v1/availability", headers=application.auth(), json=availability_body(alice.id)
    )
    assert response.status_code == 200, response.text
    assert lookups.of(ApiKey.__tablename__) == 1
    assert lookups.of(ApiKey.__tablename__, Application.__tablename__) == 1  # joined
    assert lookups.of(Application.__tablename__) == 1
    assert lookups.of(AccessToken.__tablename__) == 0


def test_a_get_is_authenticated_by_the_route_once(
    api_client: TestClient, alice: ApiAccount, lookups: Lookups
) -> None:
    assert api_client.get("/v1/calendars", headers=alice.auth()).status_code == 200
    assert lookups.of(AccessToken.__tablename__) == 1


def test_a_revoked_access_token_is_still_refused_on_a_post(
    api_client: TestClient, engine: Engine, alice: ApiAccount
) -> None:
    with session_scope(engine) as session:
        session.execute(update(AccessToken).values(revoked_at=dt.datetime.now(dt.UTC)))
    response = api_client.post("/v1/availability_rules", headers=alice.auth(), json=RULE)
    assert response.status_code == 401


def test_an_expired_access_token_is_still_refused_on_a_post(
    api_client: TestClient, engine: Engine, alice: ApiAccount
) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with session_scope(engine) as session:
        session.execute(update(AccessToken).values(expires_at=past))
    response = api_client.post("/v1/availability_rules", headers=alice.auth(), json=RULE)
    assert response.status_code == 401


def test_a_revoked_api_key_is_still_refused_on_a_post(
    api_client: TestClient, engine: Engine, application: ApiApplication, alice: ApiAccount
) -> None:
    with session_scope(engine) as session:
        session.execute(update(ApiKey).values(revoked_at=dt.datetime.now(dt.UTC)))
    response = api_client.post(
        "/v1/availability", headers=application.auth(), json=availability_body(alice.id)
    )
    assert response.status_code == 401


class HandsOn:
    """An ASGI wrapper putting a given finding in every request's scope, as if the
    middleware had made it."""

    def __init__(self, app: ASGIApp, found: Authenticated) -> None:
        self.app = app
        self.found = found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, AUTHENTICATED: self.found}, receive, send)


def test_a_finding_for_another_authorization_header_is_not_used(
    api_app: FastAPI, api_world: ApiWorld, alice: ApiAccount
) -> None:
    other = api_world.application("other")
    bob = api_world.account(other, "bob@example.com")
    # Alice's caller handed on for Alice's header; the request carries Bob's.
    found = Authenticated(f"Bearer {alice.token}", Caller(alice.application_id))
    with TestClient(HandsOn(api_app, found)) as client:
        response = client.get("/v1/userinfo", headers=bob.auth())
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == bob.id
