"""Encryption at rest for credentials and secrets, and hashing for API keys and tokens.

Fernet tokens are authenticated, so a wrong key is an error rather than garbage. Several
keys may be configured (newest first); MultiFernet encrypts with the first and decrypts
with any, which is how keys are rotated without downtime.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Connection, Engine, Table, select, update
from sqlmodel import SQLModel

import syncd.store.models  # noqa: F401  (registers the tables encrypted_columns reads)
from syncd.errors import SecretBoxError


class SecretBox:
    """Encrypts and decrypts small JSON documents with the configured Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretBoxError(
                "no encryption key configured: run `syncd init` (writes "
                "~/.config/syncd/syncd.toml with a new key), or set secret_keys in the "
                "config file (generate one with `syncd keys generate`)"
            )
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as error:
            raise SecretBoxError(f"invalid encryption key in secret_keys: {error}") from None

    def encrypt(self, document: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(document).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            document: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
            return document
        except InvalidToken:
            raise SecretBoxError(
                "stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretBoxError(
                "stored secret cannot be decrypted with the configured keys"
            ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy API key or token (no salt needed: they are random)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


# --------------------------------------------------------------------------- key rotation


@dataclass
class RotationReport:
    """What :func:`reencrypt_secrets` did, per ``table.column``."""

    rewritten: dict[str, int] = field(default_factory=dict)
    #: Values no configured key decrypts (left untouched).
    unreadable: dict[str, int] = field(default_factory=dict)
    #: Values changed by a daemon while we worked, after one retry (run again).
    raced: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())

    @property
    def complete(self) -> bool:
        return not any(self.unreadable.values()) and not any(self.raced.values())


def encrypted_columns() -> list[tuple[Table, Column[Any]]]:
    """Every ``*_encrypted`` column of every table, so a new table with secrets is covered
    by rotation without editing this function."""
    return [
        (table, column)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_encrypted")
    ]


def reencrypt_secrets(engine: Engine, box: SecretBox, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every stored secret with ``box``'s newest key, online.

    Rows are rewritten in short batches, each only if its value is still the one read
    (compare-and-set), so a daemon that stores refreshed credentials at the same moment is
    never overwritten; such a row is read again and retried once.
    """
    report = RotationReport()
    for table, column in encrypted_columns():
        (key,) = table.primary_key.columns
        name = f"{table.name}.{column.name}"
        report.rewritten[name] = report.unreadable[name] = report.raced[name] = 0
        last: Any = None
        while True:
            query = select(key, column).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            with engine.begin() as connection:
                rows = connection.execute(query).all()
                for row_id, value in rows:
                    _rotate_row(connection, table, key, column, row_id, value, box, report, name)
            if len(rows) < batch_size:
                break
            last = rows[-1][0]
    return report


def _rotate_row(
    connection: Connection,
    table: Table,
    key: Column[Any],
    column: Column[Any],
    row_id: Any,
    value: str | None,
    box: SecretBox,
    report: RotationReport,
    name: str,
) -> None:
    for _attempt in range(2):
        if value is None:
            return
        try:
            rotated = box.rotate(value)
        except SecretBoxError:
            report.unreadable[name] += 1
            return
        result = connection.execute(
            update(table).where(key == row_id, column == value).values({column.name: rotated})
        )
        if result.rowcount == 1:
            report.rewritten[name] += 1
            return
        value = connection.execute(select(column).where(key == row_id)).scalar_one_or_none()
    report.raced[name] += 1


def count_not_on_newest_key(engine: Engine, newest_key: str) -> dict[str, int]:
    """Per ``table.column``, values the newest key alone cannot decrypt: zero everywhere
    means older keys can be removed from the configuration."""
    newest = MultiFernet([Fernet(newest_key.encode())])
    counts: dict[str, int] = {}
    for table, column in encrypted_columns():
        name = f"{table.name}.{column.name}"
        counts[name] = 0
        with engine.connect() as connection:
            for (value,) in connection.execute(select(column)):
                if value is None:
                    continue
                try:
                    newest.decrypt(value.encode())
                except InvalidToken:
                    counts[name] += 1
    return counts
