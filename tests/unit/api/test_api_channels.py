"""POST/GET/DELETE /v1/channels, in-process and through pycronofy against a live server."""

from __future__ import annotations

import json

import pycronofy
import pytest
from fastapi.testclient import TestClient
from pycronofy.exceptions import PyCronofyRequestError
from sqlalchemy import Engine, select

from syncd.api.server import ApiServer
from syncd.config import Settings
from syncd.notify.delivery import deliver_due
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Application, OutboxMessage
from syncd.store.tenants import client_secrets
from tests.support.api import ApiAccount, ApiApplication, ApiWorld
from tests.support.webhook_receiver import WebhookReceiver

HOOK = "https://93.184.216.34/cronofy"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """127.0.0.1 allow-listed, as an operator would for development."""
    return settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def ada(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "ada@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    api_world.calendar(account, "Home")
    return account


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())  # type: ignore[arg-type]


def test_creating_a_channel_answers_it_and_queues_its_verification(
    api_client: TestClient, engine: Engine, ada: ApiAccount
) -> None:
    body = {"callback_url": HOOK, "filters": {"calendar_ids": ada.calendar_ids[:1]}}
    response = api_client.post("/v1/channels", headers=ada.auth(), json=body)

    assert response.status_code == 200
    channel = response.json()["channel"]
    assert channel["channel_id"].startswith("chn_")
    assert channel == {
        "channel_id": channel["channel_id"],
        "callback_url": HOOK,
        "filters": {"calendar_ids": ada.calendar_ids[:1]},
    }
    (message,) = outbox(engine)
    assert (message.kind, message.url) == ("verification", HOOK)
    assert json.loads(message.body) == {
        "notification": {"type": "verification"},
        "channel": channel,
    }


def test_channels_are_listed_until_closed(api_client: TestClient, ada: ApiAccount) -> None:
    created = [
        api_client.post("/v1/channels", headers=ada.auth(), json={"callback_url": HOOK}).json()
        for _ in range(2)
    ]
    listed = api_client.get("/v1/channels", headers=ada.auth()).json()["channels"]
    assert listed == [item["channel"] for item in created]

    closed = created[0]["channel"]["channel_id"]
    response = api_client.delete(f"/v1/channels/{closed}", headers=ada.auth())
    assert (response.status_code, response.content) == (202, b"")
    listed = api_client.get("/v1/channels", headers=ada.auth()).json()["channels"]
    assert [channel["channel_id"] for channel in listed] == [created[1]["channel"]["channel_id"]]
    again = api_client.delete(f"/v1/channels/{closed}", headers=ada.auth())
    assert again.status_code == 404


@pytest.mark.parametrize(
    "callback_url",
    [
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://93.184.216.34/hook",
        "http://192.168.0.10/hook",
        "not a url",
    ],
)
def test_a_callback_url_that_is_private_or_not_https_is_a_422_naming_it(
    api_client: TestClient, engine: Engine, ada: ApiAccount, callback_url: str
) -> None:
    response = api_client.post(
        "/v1/channels", headers=ada.auth(), json={"callback_url": callback_url}
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["callback_url"]
    assert outbox(engine) == []


def test_an_allow_listed_host_may_be_plain_http(api_client: TestClient, ada: ApiAccount) -> None:
    body = {"callback_url": "http://127.0.0.1:9/hook"}
    assert api_client.post("/v1/channels", headers=ada.auth(), json=body).status_code == 200


@pytest.mark.parametrize(
    ("filters", "key"),
    [
        ({"calendar_ids": ["cal_unknown"]}, "errors.not_found"),
        ({"calendar_ids": []}, "errors.too_few"),
    ],
)
def test_calendar_filters_must_name_the_accounts_own_calendars(
    api_client: TestClient, ada: ApiAccount, filters: dict[str, object], key: str
) -> None:
    body = {"callback_url": HOOK, "filters": filters}
    response = api_client.post("/v1/channels", headers=ada.auth(), json=body)
    assert response.status_code == 422
    assert response.json()["errors"]["filters.calendar_ids"][0]["key"] == key


def test_a_missing_callback_url_is_a_422(api_client: TestClient, ada: ApiAccount) -> None:
    response = api_client.post("/v1/channels", headers=ada.auth(), json={})
    assert response.status_code == 422
    assert response.json()["errors"]["callback_url"][0]["key"] == "errors.required"


def test_the_129th_open_channel_is_refused(api_client: TestClient, ada: ApiAccount) -> None:
    for _ in range(128):
        response = api_client.post("/v1/channels", headers=ada.auth(), json={"callback_url": HOOK})
        assert response.status_code == 200
    response = api_client.post("/v1/channels", headers=ada.auth(), json={"callback_url": HOOK})
    assert response.status_code == 422
    assert response.json()["errors"]["base"][0]["key"] == "errors.too_many"


def test_channels_need_an_account_access_token(
    api_client: TestClient, tenant: ApiApplication
) -> None:
    body = {"callback_url": HOOK}
    assert api_client.post("/v1/channels", json=body).status_code == 401
    assert api_client.post("/v1/channels", headers=tenant.auth(), json=body).status_code == 403
    assert api_client.get("/v1/channels", headers=tenant.auth()).status_code == 403


def test_pycronofy_manages_channels_and_verifies_the_signed_verification(
    api_server: ApiServer,
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    ada: ApiAccount,
) -> None:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        client = pycronofy.Client(access_token=ada.token)
        client.request_handler.base_url = api_server.url
        channel = client.create_notification_channel(
            receiver.url(), calendar_ids=ada.calendar_ids[:1], only_managed=True
        )
        assert channel["filters"] == {"calendar_ids": ada.calendar_ids[:1], "only_managed": True}
        assert client.list_notification_channels() == [channel]

        assert deliver_due(engine, settings, box, "test-worker") == 1
        (received,) = receiver.accepted
        with session_scope(engine) as session:
            application = session.get(Application, ada.application_id)
            assert application is not None
            (secret,) = client_secrets(box, session, application.id)
        verifier = pycronofy.Client(client_secret=secret)  # signed as Cronofy signs
        assert verifier.hmac_valid(received.headers["cronofy-hmac-sha256"], received.body.decode())
        assert json.loads(received.body) == {
            "notification": {"type": "verification"},
            "channel": channel,
        }

        client.close_notification_channel(channel["channel_id"])
        assert client.list_notification_channels() == []
        with pytest.raises(PyCronofyRequestError):
            client.close_notification_channel(channel["channel_id"])
    finally:
        receiver.stop()
