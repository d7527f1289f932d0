"""Webhooks are signed with the application's client_secret, as Cronofy signs them, so
pycronofy's ``hmac_valid`` checks them unchanged; during a key rotation every valid key
signs (comma-separated); an application may keep the separate webhook secret."""

from __future__ import annotations

from collections.abc import Iterator

import pycronofy
import pytest
from sqlalchemy import Engine, update

from syncd.config import Settings
from syncd.errors import UserError
from syncd.notify.delivery import deliver_due
from syncd.notify.outbox import enqueue, sign
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import ApiKey, Application
from syncd.store.tenants import (
    CreatedApplication,
    create_application,
    list_api_keys,
    revoke_api_key,
    rotate_api_key,
    set_webhook_signing,
    signing_secrets,
)
from tests.support.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.store


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})


def created(engine: Engine, box: SecretBox, **options: str) -> CreatedApplication:
    with session_scope(engine) as session:
        return create_application(session, box, "acme", **options)  # type: ignore[arg-type]


def delivered(
    engine: Engine, settings: Settings, box: SecretBox, app_id: str, receiver: WebhookReceiver
) -> Received:
    with session_scope(engine) as session:
        enqueue(session, app_id, "change", receiver.url(), {"notification": {"type": "change"}})
    assert deliver_due(engine, settings, box, "w1") == 1
    return receiver.accepted[-1]


def valid_for(secret: str, received: Received) -> bool:
    client = pycronofy.Client(client_secret=secret)
    return bool(client.hmac_valid(received.headers["cronofy-hmac-sha256"], received.body.decode()))


def test_a_webhook_verifies_with_the_client_secret(
    engine: Engine, box: SecretBox, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    app = created(engine, box)
    received = delivered(engine, hook_settings, box, app.application.id, receiver)
    assert valid_for(app.client_secret, received)
    assert not valid_for(app.webhook_secret, received)


def test_during_a_rotation_both_keys_sign_and_either_verifies(
    engine: Engine, box: SecretBox, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    app = created(engine, box)
    with session_scope(engine) as session:
        _row, new_key = rotate_api_key(session, box, app.application.id)
    received = delivered(engine, hook_settings, box, app.application.id, receiver)
    assert received.headers["cronofy-hmac-sha256"].count(",") == 1
    assert valid_for(app.client_secret, received) and valid_for(new_key, received)


def test_a_revoked_key_no_longer_signs(
    engine: Engine, box: SecretBox, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    app = created(engine, box)
    with session_scope(engine) as session:
        _row, new_key = rotate_api_key(session, box, app.application.id)
        first = list_api_keys(session, app.application.id)[0]
        revoke_api_key(session, app.application.id, int(first.id or 0))
    received = delivered(engine, hook_settings, box, app.application.id, receiver)
    assert "," not in received.headers["cronofy-hmac-sha256"]
    assert valid_for(new_key, received) and not valid_for(app.client_secret, received)


def test_an_application_may_keep_the_separate_webhook_secret(
    engine: Engine, box: SecretBox, hook_settings: Settings, receiver: WebhookReceiver
) -> None:
    app = created(engine, box, webhook_signing="webhook_secret")
    received = delivered(engine, hook_settings, box, app.application.id, receiver)
    assert valid_for(app.webhook_secret, received)
    assert not valid_for(app.client_secret, received)


def test_a_key_from_before_encryption_cannot_sign_so_the_webhook_secret_does(
    engine: Engine, box: SecretBox
) -> None:
    app = created(engine, box)
    with session_scope(engine) as session:  # what the migration leaves for older keys
        session.exec(update(ApiKey).values(secret_encrypted=None))  # type: ignore[call-overload]
        application = session.get(Application, app.application.id)
        assert application is not None
        assert signing_secrets(box, session, application) == [app.webhook_secret]
        with pytest.raises(UserError, match="rotate-key"):
            set_webhook_signing(session, box, application, "client_secret")


def test_the_signature_header_joins_signatures_without_spaces() -> None:
    body = b'{"a":1}'
    assert sign(["k1", "k2"], body) == f"{sign('k1', body)},{sign('k2', body)}"


def test_an_unknown_signing_mode_is_refused(engine: Engine, box: SecretBox) -> None:
    with pytest.raises(UserError, match="webhook signing"):
        created(engine, box, webhook_signing="md5")
