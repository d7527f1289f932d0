"""Password hashing: argon2id (argon2-cffi), rehashed on sign-in when the parameters move.

The hash string carries its own parameters and salt, so raising the cost later needs no
migration: :func:`verify_password` says when a stored hash should be replaced.
"""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from syncd.errors import invalid

#: argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()

#: Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask a bit more).
MIN_PASSWORD_LENGTH = 10
#: Longest: argon2 hashes anything, but a megabyte "password" is only a way to burn CPU.
MAX_PASSWORD_LENGTH = 256

# A hash of a random password, verified when an account has none, so an unknown email
# costs as much time as a wrong password (no account enumeration by timing).
_DUMMY_HASH = _HASHER.hash("no account has this password: it only spends the same time")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches, and the new hash to store when it does and the stored
    one uses old parameters (else None). A missing hash never matches."""
    if stored_hash is None:
        _spend_the_same_time(password)
        return False, None
    try:
        _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if _HASHER.check_needs_rehash(stored_hash):
        return True, _HASHER.hash(password)
    return True, None


def _spend_the_same_time(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _HASHER.verify(_DUMMY_HASH, password)


def check_new_password(password: str, field: str = "password") -> str:
    """A password someone chose: long enough, not absurdly long (a 422 naming ``field``)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(field, "errors.too_short", f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid(field, "errors.too_long", f"use at most {MAX_PASSWORD_LENGTH} characters")
    return password
