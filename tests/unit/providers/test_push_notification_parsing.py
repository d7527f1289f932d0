"""Adapters own their push payloads: ``CalendarProvider.parse_push_notification``.

Each adapter turns the provider's callback into provider-neutral notifications; the
receiver (``/push/<name>``) and ``syncd.sync.push`` only ever see those, so an adapter
installed through entry points gets the same treatment as the built-in ones.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from providers.base import (
    CalendarProvider,
    ChangePage,
    InvalidRemoteData,
    PermissionDenied,
    PushCallback,
    PushNotification,
    PushRequest,
    RemoteCalendar,
)
from providers.caldav import CalDAVProvider
from providers.google import GoogleProvider
from providers.microsoft import MicrosoftProvider
from syncd import registry
from syncd.api.app import create_app
from syncd.config import Settings
from syncd.ids import new_id
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Calendar, PushChannel, utcnow
from syncd.sync.push import (
    FORBIDDEN,
    IGNORED,
    SCHEDULED,
    UNKNOWN,
    accept_notifications,
    callback_url,
    hash_secret,
)
from tests.support.push_world import add_profile, is_due_now, make_due_later


def request(
    method: str = "POST",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: bytes | None = b"",
) -> PushRequest:
    return PushRequest(method=method, headers=headers or {}, query=query or {}, body=body)


# -- Google ------------------------------------------------------------------


def test_google_reads_a_channel_notification_from_its_headers() -> None:
    callback = GoogleProvider.parse_push_notification(
        request(
            headers={
                "x-goog-channel-id": "pch_1",
                "x-goog-channel-token": "secret",
                "x-goog-resource-id": "res-1",
                "x-goog-resource-state": "exists",
            }
        )
    )

    assert callback == PushCallback(
        notifications=(
            PushNotification(
                channel_id="pch_1",
                provider_resource_id="res-1",
                secret="secret",
                find_by="channel_id",
                changed=True,
            ),
        ),
        accepted_status=200,
    )


def test_google_s_sync_handshake_reports_no_change() -> None:
    callback = GoogleProvider.parse_push_notification(
        request(headers={"x-goog-channel-id": "pch_1", "x-goog-resource-state": "sync"})
    )

    (notification,) = callback.notifications
    assert notification.changed is False


def test_a_google_call_without_headers_names_no_channel() -> None:
    callback = GoogleProvider.parse_push_notification(
        request(headers={"x-goog-channel-id": "", "x-goog-resource-id": "res-1"}, body=b"junk")
    )

    (notification,) = callback.notifications
    assert notification.channel_id is None
    assert notification.find_by == "channel_id"  # the resource id alone finds nothing


# -- Microsoft ---------------------------------------------------------------


def graph_body(*entries: Any) -> bytes:
    return json.dumps({"value": list(entries)}).encode()


def test_graph_reads_each_entry_of_a_notification_batch() -> None:
    callback = MicrosoftProvider.parse_push_notification(
        request(
            body=graph_body(
                {"subscriptionId": "sub-1", "clientState": "state", "changeType": "updated"},
                {"subscriptionId": 7, "clientState": 12},
                "not an object",
            )
        )
    )

    assert callback.accepted_status == 202
    assert callback.handshake_reply is None
    assert callback.notifications == (
        PushNotification(
            provider_resource_id="sub-1", secret="state", find_by="provider_resource_id"
        ),
        PushNotification(find_by="provider_resource_id"),
        PushNotification(find_by="provider_resource_id"),
    )


@pytest.mark.parametrize(
    ("event", "lifecycle"),
    [
        ("reauthorizationRequired", "reauthorize"),
        ("missed", "missed"),
        ("subscriptionRemoved", "removed"),
        ("somethingNew", "missed"),  # unknown: a resync is the safe answer
    ],
)
def test_graph_lifecycle_notifications_name_their_event(event: str, lifecycle: str) -> None:
    """Graph's lifecycle entry (learn.microsoft.com/en-us/graph/change-notifications-
    lifecycle-events): subscriptionId, subscriptionExpirationDateTime, tenantId,
    clientState and lifecycleEvent, no changeType or resource; answered with 202."""
    entry = {
        "subscriptionId": "sub-1",
        "subscriptionExpirationDateTime": "2026-12-04T05:53:40.0000000Z",
        "tenantId": "tenant",
        "clientState": "state",
        "lifecycleEvent": event,
    }
    callback = MicrosoftProvider.parse_push_notification(request(body=graph_body(entry)))

    assert callback.accepted_status == 202
    assert callback.notifications == (
        PushNotification(
            provider_resource_id="sub-1",
            secret="state",
            find_by="provider_resource_id",
            lifecycle=lifecycle,  # type: ignore[arg-type]
        ),
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_graph_s_validation_handshake_is_a_reply_to_echo(method: str) -> None:
    callback = MicrosoftProvider.parse_push_notification(
        request(method=method, query={"validationToken": "Validation: token"})
    )

    assert callback.handshake_reply == "Validation: token"
    assert callback.notifications == ()


@pytest.mark.parametrize(
    "body",
    [None, b"", b"not json", b"[]", b'{"value": []}', b'{"value": "x"}', b"[" * 100_000],
    ids=["too-large", "empty", "text", "list", "no-entries", "string", "deep"],
)
def test_a_malformed_graph_batch_is_invalid_remote_data(body: bytes | None) -> None:
    with pytest.raises(InvalidRemoteData):
        MicrosoftProvider.parse_push_notification(request(body=body))


@pytest.mark.parametrize("token", ["", "x" * 5000])
def test_an_empty_or_oversized_validation_token_is_invalid_remote_data(token: str) -> None:
    with pytest.raises(InvalidRemoteData):
        MicrosoftProvider.parse_push_notification(request(query={"validationToken": token}))


def test_a_graph_get_without_a_token_carries_no_notifications() -> None:
    assert MicrosoftProvider.parse_push_notification(request(method="GET")) == PushCallback()


# -- adapters without push ----------------------------------------------------


def test_an_adapter_without_push_refuses_to_parse_notifications() -> None:
    with pytest.raises(PermissionDenied):
        CalDAVProvider.parse_push_notification(request())


# -- a third-party adapter, end to end ----------------------------------------

ACME_SECRET = "acme-secret"


class AcmeProvider(CalendarProvider):
    """An out-of-tree adapter whose provider posts ``{"channel": …, "key": …}``."""

    name: ClassVar[str] = "acme"
    supports_push: ClassVar[bool] = True

    def profile_name(self) -> str:
        return "acme"

    def list_calendars(self) -> list[RemoteCalendar]:
        return []

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        yield ChangePage(complete=True)

    @classmethod
    def parse_push_notification(cls, request: PushRequest) -> PushCallback:
        try:
            payload = json.loads(request.body or b"")
        except ValueError as exc:
            raise InvalidRemoteData("not JSON") from exc
        if not isinstance(payload, dict):
            raise InvalidRemoteData("not an object")
        notification = PushNotification(
            channel_id=payload.get("channel"), secret=payload.get("key")
        )
        return PushCallback(notifications=(notification,), accepted_status=204)


@pytest.fixture
def acme_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = dict(registry.calendar_providers(), acme=AcmeProvider)
    monkeypatch.setattr(registry, "calendar_providers", lambda: installed)


@pytest.fixture
def acme_channel(engine: Engine, box: SecretBox, acme_installed: None) -> dict[str, str]:
    profile_id = add_profile(engine, box, "acme", "me@acme.example", {})
    with session_scope(engine) as session:
        calendar = Calendar(id=new_id("cal"), profile_id=profile_id, provider_calendar_id="c1")
        session.add(calendar)
        session.flush()
        channel = PushChannel(
            id=new_id("pch"),
            profile_id=profile_id,
            calendar_id=calendar.id,
            provider="acme",
            provider_resource_id="acme-res",
            secret_hash=hash_secret(ACME_SECRET),
            expires_at=utcnow() + dt.timedelta(days=1),
        )
        session.add(channel)
    make_due_later(engine, profile_id)
    return {"profile": profile_id, "channel": channel.id}


@pytest.mark.store
def test_a_third_party_adapter_s_notifications_are_checked_like_the_built_in_ones(
    settings: Settings, engine: Engine, acme_channel: dict[str, str]
) -> None:
    with TestClient(create_app(settings, engine)) as client:
        forged = client.post("/push/acme", json={"channel": acme_channel["channel"], "key": "x"})
        assert forged.status_code == 403
        assert not is_due_now(engine, acme_channel["profile"])

        genuine = client.post(
            "/push/acme", json={"channel": acme_channel["channel"], "key": ACME_SECRET}
        )
        assert genuine.status_code == 204
        assert is_due_now(engine, acme_channel["profile"])

        assert client.post("/push/acme", content=b"junk").status_code == 400
        assert client.get("/push/acme").status_code == 400
        assert client.post("/push/nobody", content=b"{}").status_code == 404
        assert client.post("/push/caldav", content=b"{}").status_code == 404


@pytest.mark.store
def test_accept_notifications_sorts_entries_by_what_they_amount_to(
    engine: Engine, acme_channel: dict[str, str]
) -> None:
    channel_id = acme_channel["channel"]

    def verdict(*notifications: PushNotification) -> str:
        return accept_notifications(engine, "acme", notifications).outcome

    assert verdict() == UNKNOWN
    assert verdict(PushNotification(channel_id="pch_none", secret=ACME_SECRET)) == UNKNOWN
    assert verdict(PushNotification(channel_id=channel_id, secret=None)) == FORBIDDEN
    other_resource = PushNotification(
        channel_id=channel_id, provider_resource_id="another", secret=ACME_SECRET
    )
    assert verdict(other_resource) == FORBIDDEN
    assert verdict(PushNotification(channel_id=channel_id, secret=ACME_SECRET, changed=False)) == (
        IGNORED
    )
    assert not is_due_now(engine, acme_channel["profile"])
    by_resource = PushNotification(
        provider_resource_id="acme-res", secret=ACME_SECRET, find_by="provider_resource_id"
    )
    assert accept_notifications(engine, "google", [by_resource]).outcome == UNKNOWN
    assert verdict(by_resource) == SCHEDULED
    assert is_due_now(engine, acme_channel["profile"])


def test_the_callback_url_is_the_provider_s_name_under_push(
    settings: Settings, acme_installed: None
) -> None:
    on = settings.model_copy(update={"push_base_url": "https://syncd.example/"})

    assert callback_url(on, "acme") == "https://syncd.example/push/acme"
    assert callback_url(on, "google") == "https://syncd.example/push/google"
    assert callback_url(on, "caldav") is None
    assert callback_url(on, "nobody") is None
