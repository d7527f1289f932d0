"""The Alembic migrations produce exactly the schema the models describe, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import syncd.store.models  # noqa: F401  (registers the tables)
from syncd.store.db import schema_is_current, upgrade_schema

pytestmark = pytest.mark.store


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_leaves_the_schema_current(engine: Engine) -> None:
    upgrade_schema(engine)
    assert schema_is_current(engine)
