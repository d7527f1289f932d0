"""Reading one calendarView delta: its pages in order, each with the cursor after it,
grouped so that the series masters their occurrences need are read together.

Only requests happen here; the adapter turns each group's pages into ``ChangePage``\\ s,
while ``providers.read_ahead`` has the next group read in the meantime. A page's items
are not parsed before it is handed over (only scanned for the masters they name), so
page N + 1's request waits for nothing but page N's answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from providers.base import CursorExpired, InvalidRemoteData, NotFound
from providers.microsoft.errors import BadRequest
from providers.microsoft.mapping import items_of
from providers.microsoft.series import MAX_BATCH_REQUESTS, SeriesMasters
from providers.payload import encode_cursor

#: Bumping this makes every stored cursor unusable, forcing a full resync.
CURSOR_VERSION = 1
#: Delta pages held back so that the series masters their occurrences need are read
#: together (one ``$batch`` for up to 20, instead of one GET per page: a page of 100
#: items of a busy calendar usually names one or two unknown masters). The first page
#: goes on alone, at once, so the engine starts writing; a held page is simply fetched
#: again if the sync stops before it was handed over.
LOOKAHEAD_PAGES = 10

#: ``get(path, params=…, prefer=…)``: one Graph read under the adapter's retry policy.
GraphGet = Callable[..., dict[str, Any]]


class HeldPage(NamedTuple):
    """One delta page as Graph sent it, and where the sync stands after it."""

    response: dict[str, Any]
    cursor: str
    complete: bool


@dataclass(frozen=True)
class DeltaStart:
    """Where a delta read begins: a new window's first request, or a stored link."""

    link: str
    #: The window's query (a full sync's first request); None for a stored link.
    params: dict[str, str] | None
    full: bool
    window_end: dt.datetime


def delta_groups(
    get: GraphGet, start: DeltaStart, prefer: str, masters: SeriesMasters
) -> Iterator[list[HeldPage]]:
    """The delta's pages from ``start`` on, in groups whose unknown masters are read
    (into ``masters``) before the group is yielded: the first page alone, then up to
    ``LOOKAHEAD_PAGES`` or until ``MAX_BATCH_REQUESTS`` masters are missing."""
    link, params = start.link, start.params
    pending: list[HeldPage] = []
    missing: dict[str, None] = {}
    first = True
    while True:
        try:
            response = get(link, params=params, prefer=prefer)
        except (BadRequest, NotFound) as exc:
            if params is None:  # a stored link Graph no longer accepts
                raise CursorExpired("Microsoft no longer accepts the stored link") from exc
            raise
        next_link = response.get("@odata.nextLink")
        pending.append(HeldPage(response, _cursor_after(response, next_link, start), not next_link))
        missing.update(dict.fromkeys(masters.note(items_of(response, tolerate_non_dicts=True))))
        if (
            first
            or not next_link
            or len(pending) >= LOOKAHEAD_PAGES
            or len(missing) >= MAX_BATCH_REQUESTS
        ):
            # the group's masters in as few round trips as they allow, then its pages
            masters.read([master for master in missing if master not in masters.known])
            yield list(pending)
            pending.clear()
            missing.clear()
            first = False
        if not next_link:
            return
        link, params = str(next_link), None


def _cursor_after(response: dict[str, Any], next_link: Any, start: DeltaStart) -> str:
    """The cursor a page leaves: its next link (the same full or delta read goes on),
    or the delta link of the last page (the next sync is incremental)."""
    window_end = start.window_end.isoformat()
    if next_link:
        state = {"link": next_link, "full": start.full, "window_end": window_end}
    elif response.get("@odata.deltaLink"):
        state = {"link": response["@odata.deltaLink"], "delta": True, "window_end": window_end}
    else:
        raise InvalidRemoteData("last delta page carried no @odata.deltaLink")
    return encode_cursor(state, CURSOR_VERSION)
