"""The OAuth migration on a database with applications: each gets a client_id, its
existing API key keeps authenticating, and its webhooks stay signed with the webhook
secret (the only secret syncd can read for it) until the operator switches."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import Engine, text

from syncd.store.crypto import SecretBox, hash_secret
from syncd.store.db import _alembic_config, make_engine, session_scope, upgrade_schema
from syncd.store.tenants import application_for_api_key, find_application, signing_secrets

pytestmark = pytest.mark.store

BEFORE = "e7c2a9d4f1b8"


@pytest.fixture
def old_engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    command.upgrade(_alembic_config(engine), BEFORE)
    return engine


def test_existing_applications_get_a_client_id_and_keep_their_key(
    old_engine: Engine, box: SecretBox
) -> None:
    now = dt.datetime(2030, 1, 1)
    with old_engine.begin() as connection:
        for number in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO application (id, name, webhook_secret_encrypted, created_at) "
                    "VALUES (:id, :name, :secret, :now)"
                ),
                {
                    "id": f"app_{number}",
                    "name": f"old{number}",
                    "secret": box.encrypt({"secret": f"whsec_{number}"}),
                    "now": now,
                },
            )
            connection.execute(
                text(
                    "INSERT INTO apikey (application_id, key_hash, created_at) "
                    "VALUES (:app, :hash, :now)"
                ),
                {"app": f"app_{number}", "hash": hash_secret(f"sk_old{number}"), "now": now},
            )
    upgrade_schema(old_engine)
    with session_scope(old_engine) as session:
        first, second = find_application(session, "app_1"), find_application(session, "app_2")
        assert first.client_id and second.client_id and first.client_id != second.client_id
        assert first.redirect_uris == []
        assert first.webhook_signing == "webhook_secret"
        found = application_for_api_key(session, "sk_old1")
        assert found is not None and found.id == "app_1"
        assert signing_secrets(box, session, first) == ["whsec_1"]
    old_engine.dispose()
