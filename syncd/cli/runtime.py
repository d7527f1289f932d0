"""Settings, database and key material, set up lazily once per command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from syncd.config import Settings, find_config_path, load_settings
from syncd.errors import ConfigError
from syncd.logs import configure_logging
from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine, session_scope, sqlite_path, upgrade_schema_exclusively


@dataclass
class Runtime:
    """Settings plus the database and key material, set up once per command."""

    config_path: str | None
    _settings: Settings | None = None
    _engine: Engine | None = None
    _box: SecretBox | None = None
    #: The schema revisions the database had before this command upgraded it.
    revisions_before: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget everything: the next command reads its settings afresh."""
        self.config_path = None
        self._settings = None
        self._engine = None
        self._box = None
        self.revisions_before = []

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            configure_logging(self._settings.log_level)
        return self._settings

    def config_file_shown(self) -> str:
        """The config file in use, for messages (or where `syncd init` would write it)."""
        path = find_config_path(self.config_path)
        return str(path) if path is not None else "the config file (see `syncd init`)"

    def require_database(self) -> None:
        """For commands that only read: a SQLite file that does not exist is an error, not
        a new empty database (a different folder, or a config not found)."""
        path = sqlite_path(self.settings.database_url)
        if path is not None and not path.exists():
            raise ConfigError(
                f"no database at {path}: run `syncd init` first, or point database_url "
                "(or --config) at your database"
            )

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            self.revisions_before = upgrade_schema_exclusively(self._engine)
        return self._engine

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox(self.settings.secret_keys)
        return self._box

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session


#: The one runtime every command module uses; ``syncd.cli.main`` resets it per run.
runtime = Runtime(config_path=None)
