"""CalDAV cursors: a sync-token (RFC 6578), or the etag of every href seen."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from providers.base import (
    CursorExpired,
)

#: Bumping this makes every stored cursor unreadable, forcing one full resync (use it
#: after a parsing fix so installs pick up what they parsed wrongly before).
CURSOR_VERSION = 1


@dataclass
class SyncState:
    """What a cursor remembers: a sync-token, or the etag of every href seen."""

    mode: Literal["sync", "etag"]
    token: str = ""
    etags: dict[str, str] = field(default_factory=dict)

    def dump(self) -> str:
        payload: dict[str, Any] = {"v": CURSOR_VERSION, "mode": self.mode}
        if self.mode == "sync":
            payload["token"] = self.token
        else:
            payload["etags"] = self.etags
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def load(cls, cursor: str) -> SyncState:
        """Parse a stored cursor; one we cannot read is treated as expired."""
        try:
            payload = json.loads(cursor)
            if payload.get("v") != CURSOR_VERSION:
                raise ValueError("cursor version changed")
            if payload["mode"] == "sync":
                return cls(mode="sync", token=str(payload["token"]))
            if payload["mode"] == "etag":
                return cls(mode="etag", etags=dict(payload["etags"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CursorExpired(f"unreadable CalDAV cursor: {error}") from error
        raise CursorExpired(f"unknown CalDAV cursor mode {payload['mode']!r}")
