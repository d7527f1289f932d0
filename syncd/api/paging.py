"""Absolute ``pages.next_page`` links, as pycronofy follows them verbatim with a GET.

A page link carries the whole query (times, zone, calendars, page number) in an opaque
token, so following it needs no server-side state. The token is not a credential: the
follow-up request is authenticated again and re-checked against the caller's account,
so a token copied between accounts reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from fastapi import Request

from syncd.config import Settings


def encode_page_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> dict[str, Any] | None:
    """The state behind a token, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None


def public_base_url(request: Request, settings: Settings) -> str:
    """Where callers reach this server: the configured URL, else the request's own."""
    base = settings.public_base_url or str(request.base_url)
    return base.rstrip("/")


def page_count(total_items: int, page_size: int) -> int:
    """Pages needed; an empty result is still one (empty) page."""
    return max(1, math.ceil(total_items / page_size))
