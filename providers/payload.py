"""Reading provider payloads: the small rules the JSON adapters (Google, Graph) share.

Each returns a plain value or raises the shared errors (``InvalidRemoteData`` for an
unusable item, ``CursorExpired`` for a cursor that cannot be resumed), so one malformed
item is skipped the same way whichever provider sent it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from providers.base import ChangePage, RemoteEvent
from providers.errors import CursorExpired, InvalidRemoteData

__all__ = [
    "change_page",
    "decode_cursor",
    "encode_cursor",
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


def change_page(
    items: Iterable[Any],
    *,
    full_sync: bool,
    is_deletion: Callable[[Any], bool],
    event_of: Callable[[Any], RemoteEvent],
    log: logging.Logger,
    provider: str,
    calendar_id: str,
) -> ChangePage:
    """One page of provider items: deletions by ``id``, the rest as events.

    An item ``is_deletion`` or ``event_of`` finds unusable (InvalidRemoteData) is
    logged, skipped and counted in ``ChangePage.skipped``; the page goes on.
    """
    page = ChangePage(full_sync=full_sync)
    for item in items:
        try:
            if is_deletion(item):
                page.deletions.append(required_str(item, "id"))
            else:
                page.upserts.append(event_of(item))
        except InvalidRemoteData as exc:
            item_id = item.get("id") if isinstance(item, dict) else None
            log.warning(
                "skipping malformed %s event %r in calendar %r: %s",
                provider,
                item_id,
                calendar_id,
                exc,
            )
            page.skipped += 1
    return page


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
