"""Absolute ``pages.next_page`` links, as pycronofy follows them verbatim with a GET.

A page link carries the whole query (times, zone, calendars, page number) and the key
of the last item served (keyset paging: the next page starts after it, however the data
changed meanwhile) in an opaque token, so following it needs no server-side state. The
token is signed (HMAC-SHA256 under a key derived from ``secret_keys``; any configured key
verifies, so rotation keeps links working); one that does not verify, or whose content
is not what we write, is the same 404 as an unknown page, never a 500. The token is not
a credential: the follow-up request is authenticated again and re-checked against the
caller's account, so a token copied between accounts reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi import Request

from syncd.config import Settings
from syncd.cronofy.times import EARLIEST, LATEST
from syncd.errors import NotFoundError

#: Signs tokens when no secret key is configured (links then last until a restart).
_PROCESS_KEY = secrets.token_bytes(32)
#: Longest token accepted (a query with many calendars stays far below).
MAX_TOKEN_LENGTH = 16_384
#: Highest page number a token may carry (only ever shown as ``pages.current``).
MAX_PAGE = 1_000_000


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_keys(settings: Settings) -> list[bytes]:
    """The signing keys, newest first: one derived from each of ``secret_keys``."""
    derived = [
        hashlib.sha256(b"syncd page token\0" + key.encode()).digest()
        for key in settings.secret_keys
    ]
    return derived or [_PROCESS_KEY]


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:24])


def encode_page_token(state: dict[str, Any], keys: Sequence[bytes]) -> str:
    payload = _b64(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_signature(keys[0], payload)}"


def decode_page_token(token: str, keys: Sequence[bytes]) -> dict[str, Any] | None:
    """The state behind a token, or None when it does not verify or is not an object."""
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None  # ours are short base64url; compare_digest refuses non-ASCII text
    payload, _, signature = token.partition(".")
    if not any(hmac.compare_digest(signature, _signature(key, payload)) for key in keys):
        return None
    try:
        state = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None


def unknown_page() -> NotFoundError:
    return NotFoundError("unknown page")


def token_time(value: Any) -> dt.datetime:
    """A time written into a token: ISO 8601 with an offset, within the API's range;
    ValueError otherwise (a forged token)."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no offset")
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("out of range")
    return utc


def token_int(value: Any) -> int:
    """A non-negative 63-bit integer from a token (row ids), ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ValueError("not a row id")
    return value


def token_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def token_page(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise ValueError("not a page number")
    return value


def token_ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("not a list of ids")
    return value


def public_base_url(request: Request, settings: Settings) -> str:
    """Where callers reach this server: the configured URL, else the request's own."""
    base = settings.public_base_url or str(request.base_url)
    return base.rstrip("/")


def page_count(total_items: int, page_size: int) -> int:
    """Pages needed; an empty result is still one (empty) page."""
    return max(1, math.ceil(total_items / page_size))
