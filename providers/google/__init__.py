"""Google Calendar adapter: google-api-python-client for the API, google-auth for tokens.

Sync uses Google's own incremental protocol: a full ``events.list`` (recurring series as
masters plus their exceptions, deleted items included) ends with a ``nextSyncToken``;
later syncs pass it back and get only what changed. Each page's cursor lets a crashed
process resume right after that page.

Decisions worth knowing:

* An unknown event ``status`` is treated as ``confirmed`` and an unknown
  ``transparency`` as ``opaque``: an event Google shows is busy time unless it says
  otherwise. Unknown fields and ``eventType`` values are ignored.
* A cancelled item with ``recurringEventId`` is a cancelled occurrence of a series and
  becomes a ``status="cancelled"`` upsert; any other cancelled item is a deletion.
* A response body that is not a JSON object is a transient failure (retried); a
  single malformed item is skipped and counted in ``ChangePage.skipped``.
* HTTP 410 means "sync token gone" (``CursorExpired``) except when Google's reason is
  ``deleted`` (the event was already deleted), which is ``NotFound``.

The package: ``errors`` (the one place Google failures get a meaning), ``mapping``
(Google resources ↔ the shared dataclasses) and ``adapter`` (:class:`GoogleProvider`,
the ``syncd.providers`` entry point ``providers.google:GoogleProvider``).
"""

from __future__ import annotations

from providers.google.adapter import (
    CALENDAR_SCOPE,
    CURSOR_VERSION,
    DEFAULT_API_BASE_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_TOKEN_URL,
    GoogleProvider,
)
from providers.google.errors import provider_error
from providers.google.mapping import event_from_google, event_to_google, google_event_id

__all__ = [
    "CALENDAR_SCOPE",
    "CURSOR_VERSION",
    "DEFAULT_API_BASE_URL",
    "DEFAULT_AUTHORIZE_URL",
    "DEFAULT_TOKEN_URL",
    "GoogleProvider",
    "event_from_google",
    "event_to_google",
    "google_event_id",
    "provider_error",
]
