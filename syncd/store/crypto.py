"""Encryption at rest for credentials and secrets, and hashing for API keys and tokens.

Fernet tokens are authenticated, so a wrong key is an error rather than garbage. Several
keys may be configured (newest first); MultiFernet encrypts with the first and decrypts
with any, which is how keys are rotated without downtime.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(Exception):
    """No key configured, or a stored secret cannot be decrypted with the configured keys."""


class SecretBox:
    """Encrypts and decrypts small JSON documents with the configured Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretBoxError(
                "no encryption key configured: set secret_keys in the config file or "
                "SYNCD_SECRET_KEYS (generate one with `syncd keys generate`)"
            )
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as error:
            raise SecretBoxError(f"invalid encryption key in secret_keys: {error}") from None

    def encrypt(self, document: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(document).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
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
