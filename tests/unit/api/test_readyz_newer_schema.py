"""An old replica on a newer (compatible) schema stays ready during a rolling upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from syncd.api.app import create_app
from syncd.config import load_settings
from syncd.store.crypto import generate_key
from syncd.store.db import make_engine, schema_state, upgrade_schema


def test_readyz_stays_ready_when_the_database_is_ahead_of_the_code(tmp_path: Path) -> None:
    database = tmp_path / "syncd.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade_schema(engine)
    with sqlite3.connect(database) as connection:  # a newer release migrated it
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed1234'")
    assert schema_state(engine) == "ahead"
    settings = load_settings(secret_keys=[generate_key()])
    with TestClient(create_app(settings, engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["migrations"].startswith("ok: the database is at a newer")
    assert "f00dfeed1234" in response.json()["checks"]["migrations"]
    engine.dispose()


def test_a_schema_behind_the_code_is_still_not_ready(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert schema_state(engine) == "behind"
    settings = load_settings(secret_keys=[generate_key()])
    with TestClient(create_app(settings, engine)) as client:
        assert client.get("/readyz").status_code == 503
    engine.dispose()
