"""Reading provider payloads: the small rules the JSON adapters (Google, Graph) share.

Each returns a plain value or raises the shared errors (``InvalidRemoteData`` for an
unusable item, ``CursorExpired`` for a cursor that cannot be resumed), so one malformed
item is skipped the same way whichever provider sent it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from providers.errors import CursorExpired, InvalidRemoteData

__all__ = [
    "decode_cursor",
    "encode_cursor",
    "log_skipped_item",
    "parse_optional_datetime",
    "required_str",
]


def required_str(item: Any, key: str) -> str:
    """``item[key]`` when ``item`` is an object and that is a non-empty string."""
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value:
        raise InvalidRemoteData(f"missing {key}")
    return value


def parse_optional_datetime(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp that only informs (``updated``): unreadable means absent."""
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def log_skipped_item(
    log: logging.Logger, provider: str, item: Any, calendar_id: str, error: Exception
) -> None:
    """The warning for one malformed item skipped in a change page."""
    item_id = item.get("id") if isinstance(item, dict) else None
    log.warning(
        "skipping malformed %s event %r in calendar %r: %s", provider, item_id, calendar_id, error
    )


def encode_cursor(state: dict[str, Any], version: int) -> str:
    """A JSON cursor of ``state`` (unset and false entries left out), stamped ``version``."""
    payload = {k: v for k, v in state.items() if v is not None and v is not False}
    payload["v"] = version
    return json.dumps(payload, sort_keys=True)


def decode_cursor(cursor: str | None, version: int, provider: str) -> dict[str, Any]:
    """The state of a cursor ``encode_cursor`` wrote (``{}`` for none).

    Raises CursorExpired when it is unreadable or from another cursor version; the
    adapter then checks the entries it needs.
    """
    if cursor is None:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise CursorExpired(f"unreadable {provider} cursor") from exc
    if not isinstance(state, dict) or state.get("v") != version:
        raise CursorExpired(f"{provider} cursor from another adapter version")
    return state
