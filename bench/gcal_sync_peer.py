"""The Google peer, gcal_sync, timed in a process of its own (``bench/sync_google.py``).

    python -m bench.gcal_sync_peer < request.json     # prints one JSON line of timings

Its own process so that neither side's heap or collector settings reach the other: in
the benchmark's process gcal_sync walked syncd's start-up heap on every full collection,
and once syncd froze that heap (``syncd/memory.py``) it gained as much as syncd did. Only
the standard library (with ``bench/timing.py``), aiohttp and gcal_sync are imported
here, as in an application of its own. The request names the emulator (``base_url``,
``calendar_id``, ``access_token``) and how many full syncs (each into a new
``InMemoryCalendarStore``) and no-change syncs (into the last one) to time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any
from urllib.parse import urljoin

from bench.timing import repeat_timed


def sync_once(request: dict[str, Any], store: Any) -> int:
    """One gcal_sync event sync of the calendar into ``store``; the items it holds."""
    import aiohttp  # noqa: PLC0415 - optional, bench-only
    from gcal_sync.api import GoogleCalendarService  # noqa: PLC0415
    from gcal_sync.auth import AbstractAuth  # noqa: PLC0415
    from gcal_sync.sync import CalendarEventSyncManager  # noqa: PLC0415

    class EmulatorAuth(AbstractAuth):
        """gcal_sync's auth, pointed at the emulator, handing out the seeded token."""

        async def async_get_access_token(self) -> str:
            return str(request["access_token"])

    async def run() -> int:
        async with aiohttp.ClientSession() as session:
            auth = EmulatorAuth(session, host=urljoin(request["base_url"], "calendar/v3"))
            manager = CalendarEventSyncManager(
                GoogleCalendarService(auth), calendar_id=request["calendar_id"], store=store
            )
            await manager.run()
        data = await store.async_load() or {}
        scoped = data.get("event_sync", {}).get(request["calendar_id"], {})
        return len(scoped.get("items", {}))

    return asyncio.run(run())


def new_store() -> Any:
    from gcal_sync.store import InMemoryCalendarStore  # noqa: PLC0415 - optional

    return InMemoryCalendarStore()


def main() -> None:
    request = json.loads(sys.stdin.read())
    sync_once(request, new_store())  # imports and the connection path, untimed
    stores: list[Any] = []

    def fresh() -> Any:
        stores.append(new_store())
        return stores[-1]

    full = repeat_timed(request["repeat"], lambda store: sync_once(request, store), fresh)
    again = repeat_timed(
        request["repeat"], lambda store: sync_once(request, store), lambda: stores[-1]
    )
    print(json.dumps({"full": dataclasses.asdict(full), "no_change": dataclasses.asdict(again)}))


if __name__ == "__main__":
    main()
