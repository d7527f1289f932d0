"""Alembic environment: runs against the engine syncd hands over (see syncd.store.db)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import syncd.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from syncd.store.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        # make_engine: a SQLite file is created 0600 here too (syncd.store.db).
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
