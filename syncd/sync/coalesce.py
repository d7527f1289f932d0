"""Commit several fetched pages as one: fewer transactions when the provider outruns us.

The engine commits every page with the cursor that follows it. When pages arrive faster
than they commit (a full sync of a large calendar), the ones already fetched can go into
one transaction with the cursor after the last of them: a crash then rolls all of them
back together and the sync resumes from the cursor before them, so nothing is lost or
doubled, and the fixed cost of a page's commit (locks, lease renewal, cursor, hooks, the
statements of ``apply_page``) is paid once for the batch.

A merged page must store exactly what committing its pages one by one would. So a batch
holds pages of one kind (all of a full sync, or none), at most ``BATCH_ITEMS`` items, and
only its last page may carry deletions: ``apply_page`` writes upserts before deletions,
which is then the pages' own order (an item deleted after it was upserted is only
deleted; a deleted series master still takes its overrides upserted before it with it).
"""

from __future__ import annotations

from collections.abc import Sequence

from providers.base import ChangePage, RemoteEvent

#: Most items (upserts and deletions) one transaction takes from several pages; a page
#: bigger than this is committed alone, as it came.
BATCH_ITEMS = 1000


def page_items(page: ChangePage) -> int:
    """The page's weight: what it makes ``apply_page`` write."""
    return len(page.upserts) + len(page.deletions)


def joins(batch: Sequence[ChangePage], page: ChangePage) -> bool:
    """Whether ``page`` may be committed in one transaction with ``batch`` (which precedes it)."""
    last = batch[-1]
    return (
        not last.complete
        and not any(earlier.deletions for earlier in batch)
        and all(earlier.full_sync == page.full_sync for earlier in batch)
        and sum(page_items(earlier) for earlier in batch) + page_items(page) <= BATCH_ITEMS
    )


def merged(batch: Sequence[ChangePage]) -> ChangePage:
    """One page storing what ``batch`` (pages ``joins`` accepted, in order) stores.

    An item listed twice is stored as last listed; the cursor is the last one given.
    """
    if len(batch) == 1:
        return batch[0]
    *earlier, last = batch
    deleted = set(last.deletions)
    upserts: dict[str, RemoteEvent] = {}
    for page in earlier:
        for event in page.upserts:
            upserts.pop(event.provider_event_id, None)  # keep the last one, in its place
            upserts[event.provider_event_id] = event
    for key in deleted:
        upserts.pop(key, None)
    for event in last.upserts:  # within one page an upsert outweighs a deletion
        upserts.pop(event.provider_event_id, None)
        upserts[event.provider_event_id] = event
    cursors = [page.cursor for page in batch if page.cursor is not None]
    return ChangePage(
        upserts=list(upserts.values()),
        deletions=list(last.deletions),
        cursor=cursors[-1] if cursors else None,
        complete=last.complete,
        full_sync=last.full_sync,
        skipped=sum(page.skipped for page in batch),
    )
