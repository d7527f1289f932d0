"""The push receivers: genuine notifications schedule a sync, anything else is refused.

Channels are stored directly (known secrets), and the app runs in-process; the
emulator-driven tests cover how channels come to exist.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from syncd.api.app import create_app
from syncd.config import Settings
from syncd.ids import new_id
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, PushChannel, utcnow
from syncd.sync.push import hash_secret
from tests.support.push_world import add_profile, is_due_now, make_due_later

pytestmark = pytest.mark.store

GOOGLE_SECRET = "google-channel-secret"
GRAPH_SECRET = "graph-client-state"


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as running:
        yield running


@pytest.fixture
def world(engine: Engine, box: SecretBox) -> dict[str, str]:
    """A Google and a Microsoft profile, one calendar and one channel each, due far away."""
    ids: dict[str, str] = {}
    for provider, secret, resource in (
        ("google", GOOGLE_SECRET, "google-resource-1"),
        ("microsoft", GRAPH_SECRET, "graph-subscription-1"),
    ):
        profile_id = add_profile(engine, box, provider, f"{provider}@example.com", {})
        with session_scope(engine) as session:
            calendar = Calendar(
                id=new_id("cal"), profile_id=profile_id, provider_calendar_id=f"{provider}-cal"
            )
            session.add(calendar)
            session.flush()
            channel = PushChannel(
                id=new_id("pch"),
                profile_id=profile_id,
                calendar_id=calendar.id,
                provider=provider,
                provider_resource_id=resource,
                secret_hash=hash_secret(secret),
                expires_at=utcnow() + dt.timedelta(days=1),
            )
            session.add(channel)
        make_due_later(engine, profile_id)
        ids[f"{provider}_profile"] = profile_id
        ids[f"{provider}_channel"] = channel.id
        ids[f"{provider}_resource"] = resource
    return ids


def google_headers(world: dict[str, str], **changes: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "X-Goog-Channel-ID": world["google_channel"],
        "X-Goog-Channel-Token": GOOGLE_SECRET,
        "X-Goog-Resource-ID": world["google_resource"],
        "X-Goog-Resource-State": "exists",
        "X-Goog-Message-Number": "2",
    }
    headers.update(changes)
    return {name: value for name, value in headers.items() if value is not None}


def graph_body(world: dict[str, str], **changes: Any) -> dict[str, Any]:
    entry = {
        "subscriptionId": world["microsoft_resource"],
        "clientState": GRAPH_SECRET,
        "changeType": "updated",
        "resource": "Users/u/Events/e",
        "tenantId": "t",
    }
    entry.update(changes)
    return {"value": [entry]}


# -- Google ----------------------------------------------------------------


def test_a_genuine_google_notification_makes_the_profile_due_now(
    client: TestClient, engine: Engine, world: dict[str, str]
) -> None:
    response = client.post("/push/google", headers=google_headers(world))

    assert response.status_code == 200
    assert is_due_now(engine, world["google_profile"])
    assert not is_due_now(engine, world["microsoft_profile"])


def test_the_google_sync_handshake_is_acknowledged_without_scheduling_a_sync(
    client: TestClient, engine: Engine, world: dict[str, str]
) -> None:
    response = client.post(
        "/push/google", headers=google_headers(world, **{"X-Goog-Resource-State": "sync"})
    )

    assert response.status_code == 200
    assert not is_due_now(engine, world["google_profile"])


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"X-Goog-Channel-ID": "pch_unknown"}, 404),
        ({"X-Goog-Channel-ID": None}, 404),
        ({"X-Goog-Channel-Token": "guessed"}, 403),
        ({"X-Goog-Channel-Token": None}, 403),
        ({"X-Goog-Resource-ID": "another-resource"}, 403),
    ],
    ids=["unknown-channel", "no-channel", "bad-token", "no-token", "other-resource"],
)
def test_a_google_notification_with_a_bad_channel_or_token_is_refused_and_schedules_nothing(
    client: TestClient,
    engine: Engine,
    world: dict[str, str],
    changes: dict[str, str | None],
    status: int,
) -> None:
    response = client.post("/push/google", headers=google_headers(world, **changes))

    assert response.status_code == status
    assert response.content == b""  # nothing about channels leaks
    assert not is_due_now(engine, world["google_profile"])


def test_a_microsoft_channel_id_is_not_accepted_at_the_google_receiver(
    client: TestClient, engine: Engine, world: dict[str, str]
) -> None:
    response = client.post(
        "/push/google",
        headers=google_headers(
            world,
            **{
                "X-Goog-Channel-ID": world["microsoft_channel"],
                "X-Goog-Channel-Token": GRAPH_SECRET,
            },
        ),
    )

    assert response.status_code == 404
    assert not is_due_now(engine, world["microsoft_profile"])


# -- Microsoft ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_graph_validation_token_is_echoed_as_plain_text(
    client: TestClient, method: str
) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"

    response = client.request(method, "/push/microsoft", params={"validationToken": token})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == token


def test_a_genuine_graph_notification_makes_the_profile_due_now(
    client: TestClient, engine: Engine, world: dict[str, str]
) -> None:
    response = client.post("/push/microsoft", json=graph_body(world))

    assert response.status_code == 202
    assert is_due_now(engine, world["microsoft_profile"])
    assert not is_due_now(engine, world["google_profile"])


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"subscriptionId": "unknown-subscription"}, 404),
        ({"clientState": "guessed"}, 403),
        ({"clientState": None}, 403),
        ({"clientState": 12}, 403),
    ],
    ids=["unknown-subscription", "bad-client-state", "null-client-state", "odd-client-state"],
)
def test_a_graph_notification_with_a_bad_subscription_or_client_state_is_refused(
    client: TestClient,
    engine: Engine,
    world: dict[str, str],
    changes: dict[str, Any],
    status: int,
) -> None:
    response = client.post("/push/microsoft", json=graph_body(world, **changes))

    assert response.status_code == status
    assert response.content == b""
    assert not is_due_now(engine, world["microsoft_profile"])


def test_a_forged_entry_in_a_graph_batch_does_not_spoil_the_genuine_one(
    client: TestClient, engine: Engine, world: dict[str, str]
) -> None:
    body = graph_body(world)
    body["value"].append(dict(body["value"][0], clientState="guessed"))

    response = client.post("/push/microsoft", json=body)

    assert response.status_code == 202
    assert is_due_now(engine, world["microsoft_profile"])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"value": []}',
        b'{"value": "x"}',
        b'{"value": [1, "two", null]}',
        b"[" * 100_000,
        json.dumps({"value": [{"subscriptionId": "x" * 10}]}).encode() * 30_000,
    ],
    ids=["empty", "text", "list", "no-entries", "string", "odd-entries", "deep", "huge"],
)
def test_junk_at_the_graph_receiver_is_a_client_error_not_a_crash(
    client: TestClient, engine: Engine, world: dict[str, str], body: bytes
) -> None:
    response = client.post(
        "/push/microsoft", content=body, headers={"Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500
    assert not is_due_now(engine, world["microsoft_profile"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Goog-Channel-ID": "\u00e9" * 300, "X-Goog-Channel-Token": "x" * 10_000},
        {"X-Goog-Channel-ID": "' OR 1=1 --", "X-Goog-Resource-State": "exists"},
    ],
    ids=["nothing", "oversized", "injection"],
)
def test_junk_at_the_google_receiver_is_a_client_error_not_a_crash(
    client: TestClient, engine: Engine, world: dict[str, str], headers: dict[str, str]
) -> None:
    encoded: dict[str, Any] = {name: value.encode() for name, value in headers.items()}

    response = client.post("/push/google", headers=encoded, content=b"\x00garbage")

    assert 400 <= response.status_code < 500
    assert not is_due_now(engine, world["google_profile"])


def test_an_empty_or_oversized_validation_token_is_refused(client: TestClient) -> None:
    assert client.post("/push/microsoft", params={"validationToken": ""}).status_code == 400
    assert client.post("/push/microsoft", params={"validationToken": "x" * 5000}).status_code == 400


def test_the_push_receivers_are_not_part_of_the_published_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert not [path for path in paths if path.startswith("/push")]
