"""Microsoft 365 / Outlook adapter: msal for tokens, plain HTTP for Microsoft Graph.

Sync uses Graph's calendarView delta over a rolling window: the first round lists every
occurrence in ``[now - history_days, now + horizon_days)`` page by page
(``@odata.nextLink``), the last page carries an ``@odata.deltaLink`` that later syncs
call as-is to get only what changed (removals as ``@removed``). Each page's cursor is
the link that follows it, so a crashed process resumes right after the last committed
page.

Decisions worth knowing:

* calendarView expands recurring series, so every occurrence and exception is its own
  single RemoteEvent (no recurrence lines); the series master id is kept in
  ``extra["series_master_id"]``. The engine never expands Microsoft series itself.
* The window is fixed when a full sync starts and stored in the cursor (Graph's delta
  token hides it). Once its end is less than ``horizon_days - window_refresh_days``
  ahead, the cursor counts as expired: the engine runs a new full sync, whose
  generation swap moves the window without a moment of missing events.
* Times are requested in UTC (``Prefer: outlook.timezone="UTC"``) but any zone Graph
  sends (IANA or Windows names) is honoured. All-day events are dates.
* ``showAs: free`` is transparent, ``showAs: tentative`` a tentative event; a declined
  invitation keeps its time but is ``participation_status="declined"``; an event the
  organizer cancelled (``isCancelled``) is a deletion. Unknown enum values count as busy.
* Graph chooses event ids. ``upsert_event`` updates the event with that id when there is
  one and otherwise creates it with a ``transactionId`` derived from our id, so a
  retried create never makes a duplicate; the returned RemoteEvent carries Graph's id.
* msal throttles its own token requests (it replays a 5xx or 429 from the authority for
  the Retry-After time, 5 s by default): a refresh that fails that way surfaces as
  TransientError and the engine retries on its next run.
* TLS: set ``SYNCD_MICROSOFT_CA_BUNDLE`` to a PEM file to trust a private CA (the local
  test authority and Graph emulator, or a TLS-intercepting proxy). With it set, the
  environment's proxy and CA settings are ignored so only that bundle is trusted.

The package: ``errors`` (the one place AAD and Graph failures get a meaning), ``auth``
(msal and TLS), ``mapping`` (Graph resources ↔ the shared dataclasses, push payloads)
and ``adapter`` (:class:`MicrosoftProvider`, the ``syncd.providers`` entry point
``providers.microsoft:MicrosoftProvider``).
"""

from __future__ import annotations

from providers.microsoft.adapter import DEFAULT_API_BASE_URL, MicrosoftProvider
from providers.microsoft.auth import CA_BUNDLE_ENV, DEFAULT_AUTHORITY, SCOPES
from providers.microsoft.delta import CURSOR_VERSION
from providers.microsoft.errors import http_error, token_error
from providers.microsoft.mapping import (
    TEAMS,
    event_from_graph,
    event_to_graph,
    recurrence_to_graph,
    transaction_id,
)

__all__ = [
    "CA_BUNDLE_ENV",
    "CURSOR_VERSION",
    "DEFAULT_API_BASE_URL",
    "DEFAULT_AUTHORITY",
    "SCOPES",
    "TEAMS",
    "MicrosoftProvider",
    "event_from_graph",
    "event_to_graph",
    "http_error",
    "recurrence_to_graph",
    "token_error",
    "transaction_id",
]
