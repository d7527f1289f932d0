"""Engine and sessions: SQLite (WAL) by default, Postgres via ``postgresql+psycopg://``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


#: Mode of the SQLite database file; SQLite gives its -wal and -shm files the same.
DATABASE_FILE_MODE = 0o600


def sqlite_path(database_url: str) -> Path | None:
    """The file a SQLite URL names (``None`` for an in-memory database)."""
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def secure_sqlite_files(database_url: str) -> None:
    """Create the database file 0600 whatever the umask, before SQLite opens it, and
    tighten an existing one (and its -wal/-shm): they hold emails, event data and
    callback URLs with their query secrets. SQLite creates -wal and -shm with the
    database file's mode."""
    path = sqlite_path(database_url)
    if path is None or not path.parent.is_dir():
        return  # SQLite reports a missing directory when it connects, as before
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, DATABASE_FILE_MODE)
    try:
        os.fchmod(descriptor, DATABASE_FILE_MODE)
    finally:
        os.close(descriptor)
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            sidecar.chmod(DATABASE_FILE_MODE)


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the backend: WAL + busy timeout + foreign keys on SQLite; the
    SQLite files are the owner's only (:func:`secure_sqlite_files`)."""
    if is_sqlite(database_url):
        secure_sqlite_files(database_url)
        connect_args = {"check_same_thread": False, "timeout": 30}
        if database_url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        else:
            # As many connections as the API's thread pool may use at once.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 40)
        engine = create_engine(database_url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin,
            # so BEGIN IMMEDIATE below takes the write lock up front.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Writers take the write lock up front (a deferred read-then-write transaction
            # would fail with SQLITE_BUSY instead of waiting); readers never wait for it.
            if connection.get_execution_options().get(READ_ONLY_OPTION):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(database_url, **kwargs)


#: Execution option marking an engine whose transactions only read (SQLite: plain BEGIN).
READ_ONLY_OPTION = "syncd_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that never write."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (run by the daemon and CLI on start)."""
    command.upgrade(_alembic_config(engine), "head")


def ping(engine: Engine) -> None:
    """One round trip to the database (``SELECT 1``); raises the driver's error if it fails."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


#: Postgres advisory lock key held while migrating ("syncd" in ASCII).
MIGRATION_LOCK = 0x73796E6364


def upgrade_schema_exclusively(engine: Engine) -> None:
    """:func:`upgrade_schema`, one process at a time: daemons started together on an
    empty Postgres would otherwise race to create the same tables."""
    if engine.dialect.name != "postgresql":
        upgrade_schema(engine)
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            upgrade_schema(engine)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()


def schema_is_current(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())
