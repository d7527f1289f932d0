"""Several fetched pages committed as one store what committing them one by one would."""

from __future__ import annotations

import datetime as dt

from providers.base import ChangePage, RemoteEvent
from syncd.sync.coalesce import BATCH_ITEMS, joins, merged

START = dt.datetime(2030, 1, 7, 9, tzinfo=dt.UTC)


def event(event_id: str, summary: str = "") -> RemoteEvent:
    return RemoteEvent(event_id, START, START + dt.timedelta(hours=1), summary=summary)


def page(*upserts: RemoteEvent, deletions: tuple[str, ...] = (), **fields: object) -> ChangePage:
    return ChangePage(upserts=list(upserts), deletions=list(deletions), **fields)  # type: ignore[arg-type]


def summaries(change: ChangePage) -> dict[str, str]:
    return {item.provider_event_id: item.summary for item in change.upserts}


def test_a_single_page_is_committed_as_it_came() -> None:
    only = page(event("a"), cursor="c1")
    assert merged([only]) is only


def test_the_merged_page_carries_the_cursor_of_the_last_page() -> None:
    change = merged([page(event("a"), cursor="c1"), page(event("b"), cursor="c2")])
    assert change.cursor == "c2"


def test_a_page_without_a_cursor_keeps_the_one_before() -> None:
    change = merged([page(event("a"), cursor="c1"), page(event("b"), cursor=None)])
    assert change.cursor == "c1"


def test_an_item_listed_twice_is_stored_as_last_listed() -> None:
    change = merged([page(event("a", "old"), event("b")), page(event("a", "new"))])
    assert summaries(change) == {"a": "new", "b": ""}


def test_an_item_deleted_after_its_upsert_is_only_deleted() -> None:
    change = merged([page(event("a"), event("b")), page(deletions=("a",))])
    assert summaries(change) == {"b": ""}
    assert change.deletions == ["a"]


def test_within_the_last_page_an_upsert_still_outweighs_a_deletion() -> None:
    change = merged([page(event("b")), page(event("a", "kept"), deletions=("a",))])
    assert summaries(change) == {"b": "", "a": "kept"}


def test_the_last_page_says_whether_the_sync_is_complete() -> None:
    change = merged([page(event("a")), page(event("b"), complete=True)])
    assert change.complete


def test_skipped_items_of_every_page_are_counted() -> None:
    assert merged([page(skipped=2), page(skipped=3)]).skipped == 5


def test_a_page_after_a_page_with_deletions_starts_a_new_transaction() -> None:
    assert not joins([page(deletions=("a",))], page(event("b")))


def test_a_page_with_deletions_may_end_a_batch() -> None:
    assert joins([page(event("a"))], page(deletions=("b",)))


def test_nothing_joins_the_page_that_completes_the_sync() -> None:
    assert not joins([page(event("a"), complete=True)], page(event("b")))


def test_full_sync_pages_and_incremental_pages_are_never_merged() -> None:
    assert not joins([page(event("a"), full_sync=True)], page(event("b"), full_sync=False))


def test_a_batch_holds_at_most_batch_items_items() -> None:
    half = [event(f"a{index}") for index in range(BATCH_ITEMS // 2)]
    rest = [event(f"b{index}") for index in range(BATCH_ITEMS - len(half))]
    assert joins([page(*half)], page(*rest))
    assert not joins([page(*half)], page(*rest, event("one-too-many")))
