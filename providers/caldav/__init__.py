"""CalDAV adapter: RFC 4791 discovery and calendar objects, RFC 6578 incremental sync.

Every calendar object resource (one href) becomes one :class:`RemoteEvent` carrying the
whole VCALENDAR text, so the engine expands a series together with its overridden
instances (RECURRENCE-ID) and EXDATEs from the same text the server holds.

Sync uses ``REPORT sync-collection`` asking for ``calendar-data`` in the same request:
measured on Radicale 3.9 with 5,000 events this answers a full sync in ~1.3 s, against
~2.0 s for a token-only sync-collection followed by ``calendar-multiget`` batches, and an
incremental sync with no changes is a single request. Servers that leave calendar-data
out of a sync-collection answer get the missing items through ``calendar-multiget``.
Servers without sync-collection are synced by comparing each href's ``getetag`` with the
etags kept inside the cursor (one PROPFIND per incremental sync, plus a multiget for
what changed).

The package follows the adapter's layers: ``errors`` (HTTP status → shared errors),
``cursor`` (what a cursor remembers), ``webdav`` (XML bodies and multistatus answers),
``ical`` (iCalendar ↔ RemoteEvent) and ``adapter`` (:class:`CalDAVProvider`, the
``syncd.providers`` entry point ``providers.caldav:CalDAVProvider``).
"""

from __future__ import annotations

from providers.caldav.adapter import MULTIGET_BATCH_SIZE, PAGE_SIZE, CalDAVProvider, SyncMode
from providers.caldav.cursor import CURSOR_VERSION, SyncState
from providers.caldav.errors import error_for_response
from providers.caldav.ical import (
    PARSED_ICALENDAR,
    ical_from_remote_event,
    participation_status,
    remote_event_from_ical,
)
from providers.caldav.webdav import (
    CALDAV,
    DAV,
    NSMAP,
    DavResponse,
    Multistatus,
    href_path,
    parse_multistatus,
)

__all__ = [
    "CALDAV",
    "CURSOR_VERSION",
    "DAV",
    "MULTIGET_BATCH_SIZE",
    "NSMAP",
    "PAGE_SIZE",
    "PARSED_ICALENDAR",
    "CalDAVProvider",
    "DavResponse",
    "Multistatus",
    "SyncMode",
    "SyncState",
    "error_for_response",
    "href_path",
    "ical_from_remote_event",
    "parse_multistatus",
    "participation_status",
    "remote_event_from_ical",
]
