"""Engine and sessions: SQLite (WAL) by default, Postgres via ``postgresql+psycopg://``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from syncd.errors import OperatorError, ServiceUnavailableError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


#: Mode of the SQLite database file; SQLite gives its -wal and -shm files the same.
DATABASE_FILE_MODE = 0o600


def sqlite_path(database_url: str) -> Path | None:
    """The file of a file-based SQLite URL (absolute), else None (memory, or not SQLite)."""
    if not is_sqlite(database_url):
        return None
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute()


def describe_database(database_url: str) -> str:
    """Which database, for people: the SQLite file, or ``driver://user@host:port/db``
    without the password."""
    path = sqlite_path(database_url)
    if path is not None:
        return f"sqlite {path}"
    if is_sqlite(database_url):
        return "sqlite (in memory)"
    return make_url(database_url).set(password=None).render_as_string(hide_password=False)


def create_private_sqlite_file(path: Path) -> None:
    """Create an empty database file readable by its owner only (0600, folder 0700)."""
    if path.exists():
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError as error:
        raise OperatorError(
            f"cannot create the database {path}: {error.strerror or error} "
            "(set database_url to a writable place)"
        ) from None


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
        connect_args = {"check_same_thread": False, "timeout": 30}
        if database_url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        else:
            path = sqlite_path(database_url)
            if path is not None:
                create_private_sqlite_file(path)
            secure_sqlite_files(database_url)
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

        writers = _WriterQueue()
        writers.install(engine)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Writers take the write lock up front (a deferred read-then-write transaction
            # would fail with SQLITE_BUSY instead of waiting); readers never wait for it.
            if connection.get_execution_options().get(READ_ONLY_OPTION):
                connection.exec_driver_sql("BEGIN")
            else:
                writers.enter(connection.connection)
                try:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                except BaseException:
                    writers.leave(connection.connection)
                    raise

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(database_url, **kwargs)


class _WriterQueue:
    """The process's SQLite writers wait their turn here, not in SQLite's busy handler.

    A writer that finds the database locked sleeps in SQLite's busy handler in growing
    steps (up to 100 ms) and retries, so under a burst (API upserts, the managed-event
    writer, webhook delivery) a short transaction could wait seconds behind others that
    happened to retry at the right moment. Threads of one process queue on this lock
    instead and start the moment the previous writer's commit or rollback returns;
    writers in other processes (an API served by ``syncd serve`` beside the daemon)
    still meet in SQLite's lock. A lock not obtained within the busy timeout falls back
    to SQLite's own wait, so a thread that (wrongly) opens a second write transaction
    inside its first fails as before instead of hanging.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: Any = None

    def install(self, engine: Engine) -> None:
        """Release after the engine's dialect commits or rolls back (the pool's reset of
        a returned connection included), and when a connection is dropped."""
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._releasing(getattr(dialect, name)))

        @event.listens_for(engine, "invalidate")
        @event.listens_for(engine, "close")
        def _dropped(dbapi_connection: Any, _record: Any, *_args: Any) -> None:
            self.leave(dbapi_connection)

    def _releasing(self, finish: Callable[[Any], None]) -> Callable[[Any], None]:
        def finished(dbapi_connection: Any) -> None:
            try:
                finish(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        return finished

    def enter(self, connection: Any) -> None:
        dbapi_connection = _raw(connection)
        if self._holder is dbapi_connection:
            return
        if self._lock.acquire(timeout=SQLITE_BUSY_SECONDS):
            self._holder = dbapi_connection

    def leave(self, connection: Any) -> None:
        dbapi_connection = _raw(connection)
        if self._holder is dbapi_connection and dbapi_connection is not None:
            self._holder = None
            self._lock.release()


def _raw(connection: Any) -> Any:
    """The DBAPI connection behind a pool's proxy (SQLAlchemy passes either)."""
    return getattr(connection, "dbapi_connection", connection)


#: SQLite's busy timeout (seconds a writer waits for the lock before "database is locked").
SQLITE_BUSY_SECONDS = 30

#: Execution option marking an engine whose transactions only read (SQLite: plain BEGIN).
READ_ONLY_OPTION = "syncd_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that never write.

    On SQLite they begin deferred (``BEGIN``: a snapshot, no wait for the write lock);
    on Postgres they run without a transaction (autocommit): at READ COMMITTED each
    statement sees its own snapshot either way, so the ``BEGIN`` and ``COMMIT`` round
    trips bought nothing (every API request's authentication is such a read)."""
    if is_sqlite(str(engine.url)):
        return engine.execution_options(**{READ_ONLY_OPTION: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT", **{READ_ONLY_OPTION: True})


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


def upgrade_schema(engine: Engine) -> list[str]:
    """Bring the schema to the newest migration (run by the daemon and CLI on start).

    A database that cannot be opened or reached, or whose schema is newer than this code,
    is an :class:`OperatorError` naming it (and the revisions), not a traceback.
    Returns the revisions the database was at before (none: it was empty).
    """
    try:
        before = current_revisions(engine)
        command.upgrade(_alembic_config(engine), "head")
        return before
    except CommandError as error:
        if "Can't locate revision" not in str(error):
            raise
        raise OperatorError(
            f"the database {describe_database(str(engine.url))} has schema revision "
            f"{', '.join(current_revisions(engine)) or '?'}, newer than this syncd knows "
            f"(its newest: {', '.join(head_revisions(engine))}): upgrade syncd, or restore "
            "the backup taken before the newer version migrated it"
        ) from None
    except DBAPIError as error:
        raise database_unavailable(engine, error) from None


def database_unavailable(engine: Engine, error: DBAPIError) -> ServiceUnavailableError:
    """One line for a database that cannot be opened or reached (the driver's first line)."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return ServiceUnavailableError(
        f"cannot use the database {describe_database(str(engine.url))}: {reason}"
    )


def current_revisions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def head_revisions(engine: Engine) -> list[str]:
    return sorted(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())


def ping(engine: Engine) -> None:
    """One round trip to the database (``SELECT 1``); raises the driver's error if it fails."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


#: Postgres advisory lock key held while migrating ("syncd" in ASCII).
MIGRATION_LOCK = 0x73796E6364


def upgrade_schema_exclusively(engine: Engine) -> list[str]:
    """:func:`upgrade_schema`, one process at a time: daemons started together on an
    empty Postgres would otherwise race to create the same tables."""
    if engine.dialect.name != "postgresql":
        return upgrade_schema(engine)
    try:
        connection = engine.connect()
    except DBAPIError as error:
        raise database_unavailable(engine, error) from None
    with connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            return upgrade_schema(engine)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()


def schema_is_current(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def schema_state(engine: Engine) -> str:
    """``"current"`` (at this code's newest migration), ``"behind"`` (migrations to run),
    or ``"ahead"``: at a revision this code does not know, i.e. a newer release migrated
    it. Migrations only add (docs/operations.md, "Upgrade"), so old code keeps working
    on a newer schema during a rolling upgrade."""
    script = ScriptDirectory.from_config(_alembic_config(engine))
    current = set(current_revisions(engine))
    if current == set(script.get_heads()):
        return "current"
    known = {revision.revision for revision in script.walk_revisions()}
    return "ahead" if current - known else "behind"
