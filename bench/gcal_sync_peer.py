"""The Google peer, gcal_sync, timed in a process of its own (``bench/sync_google.py``).

    python -m bench.gcal_sync_peer      # first line: the request; then one command a line

Its own process so that neither side's heap or collector settings reach the other: in
the benchmark's process gcal_sync walked syncd's start-up heap on every full collection,
and once syncd froze that heap (``syncd/memory.py``) it gained as much as syncd did. Only
the standard library (with ``bench/timing.py``), aiohttp and gcal_sync are imported
here, as in an application of its own.

The first line names the emulator (``base_url``, ``calendar_id``, ``access_token``); one
untimed sync then warms imports and the connection path, and ``ready`` is printed. Each
later line is a command, answered with one JSON line ``{"seconds": …, "items": …}``:
``full`` times a full sync into a new ``InMemoryCalendarStore``, ``again`` a no-change
sync into the last one. The benchmark sends them in turn with its own runs, so both
sides are measured in the same moments of the shared machine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from typing import Any
from urllib.parse import urljoin

from bench.timing import Timings, timed_into


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
    request = json.loads(sys.stdin.readline())
    sync_once(request, new_store())  # imports and the connection path, untimed
    print("ready", flush=True)
    store = new_store()
    for line in sys.stdin:
        command = line.strip()
        if command == "full":
            store = new_store()
        elif command != "again":
            raise SystemExit(f"unknown command {command!r}")
        timings = Timings()
        items = timed_into(timings, functools.partial(sync_once, request, store))
        print(json.dumps({"seconds": timings.runs[0], "items": items}), flush=True)


if __name__ == "__main__":
    main()
