"""The managed-event writer's cheaper path keeps its guarantees: claims read their rows in
the claim's transaction, an 8x8 room is stored by the event's own finishing transaction,
finished events of several threads commit together, and an upsert wakes the writer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, update

from syncd.conferencing import finish as finish_step
from syncd.conferencing.group_commit import GroupCommit
from syncd.store.db import session_scope
from syncd.store.models import ManagedEvent
from syncd.store.wakeups import MANAGED
from tests.support.events_world import GOOGLE_CALENDAR, World, subscribed, world

__all__ = ["world"]  # the shared fixture, from tests/support/events_world.py


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def managed_wakeup() -> Iterator[threading.Event]:
    woken = MANAGED.subscribe()
    yield woken
    MANAGED.unsubscribe(woken)


def _join_url(world: World, event_id: str) -> str:
    (body,) = [
        json.loads(m.body)
        for m in world.outbox("conferencing_assigned")
        if json.loads(m.body)["event"]["event_id"] == event_id
    ]
    url: str = body["event"]["conferencing"]["join_url"]
    return url


def test_a_claimed_batch_carries_each_rows_snapshot(world: World) -> None:
    for number in range(3):
        world.upsert(world.google, event_id=f"e{number}", conferencing={"profile_id": "default"})
    worker = world.worker()

    jobs = worker.claim_jobs(10)

    assert sorted(job.event_id for job in jobs) == ["e0", "e1", "e2"]
    assert {job.provider_name for job in jobs} == {"google"}
    assert all(job.plan.adapter == "eight_by_eight" for job in jobs)
    assert all(world.managed(job.event_id).lease_owner == worker.worker_id for job in jobs)
    assert worker.claim_jobs(10) == []  # leased: nobody else gets them


def test_a_crash_before_the_finishing_commit_leaves_one_event_and_one_webhook(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    worker = world.worker()

    def die(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("killed after the provider write, before our commit")

    with monkeypatch.context() as patched:
        patched.setattr(finish_step, "session_scope", die)
        (job,) = worker.claim_jobs(10)
        with pytest.raises(SystemExit):
            worker.process_job(job)
    row = world.managed("board-meeting")
    assert row.state == "pending_write" and row.conferencing is None  # the room was not kept
    assert world.outbox() == []
    with session_scope(world.engine) as session:  # the dead worker's lease runs out
        session.execute(
            update(ManagedEvent)
            .where(ManagedEvent.id == row.id)  # type: ignore[arg-type]
            .values(lease_expires_at=row.next_attempt_at)
        )

    world.work()

    ours = [
        item
        for item in world.emulator.stored_items(GOOGLE_CALENDAR)
        if item.get("status") != "cancelled"
    ]
    assert len(ours) == 1  # rewritten under its deterministic id, not doubled
    join_url = _join_url(world, "board-meeting")  # exactly one webhook
    assert join_url in ours[0]["description"]
    assert world.managed("board-meeting").conferencing["join_url"] == join_url  # type: ignore[index]


def test_the_retry_after_a_crash_makes_the_room_the_crashed_attempt_wrote(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    worker = world.worker()

    def die(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("killed after the provider write, before our commit")

    with monkeypatch.context() as patched:
        patched.setattr(finish_step, "session_scope", die)
        (job,) = worker.claim_jobs(10)
        with pytest.raises(SystemExit):
            worker.process_job(job)
    (written_first,) = [
        item["description"] for item in world.emulator.stored_items(GOOGLE_CALENDAR)
    ]
    assert world.managed("board-meeting").conference_secret  # kept by the claim's commit
    with session_scope(world.engine) as session:  # the dead worker's lease runs out
        session.execute(
            update(ManagedEvent)
            .where(ManagedEvent.event_id == "board-meeting")  # type: ignore[arg-type]
            .values(lease_expires_at=None, lease_owner=None)
        )

    world.work()

    assert _join_url(world, "board-meeting") in written_first


def test_events_finished_by_concurrent_writers_each_get_their_own_room_and_webhook(
    world: World,
) -> None:
    ids = [f"burst-{number}" for number in range(6)]
    for event_id in ids:
        world.upsert(
            world.google,
            event_id=event_id,
            conferencing={"profile_id": "default"},
            subscriptions=subscribed(),
        )
    worker = world.worker()
    jobs = worker.claim_jobs(10)
    threads = [threading.Thread(target=worker.process_job, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    rooms = {event_id: _join_url(world, event_id) for event_id in ids}
    assert len(set(rooms.values())) == len(ids)
    for event_id, join_url in rooms.items():
        assert world.managed(event_id).state == "written"
        assert join_url in world.google_event(event_id)["description"]
    assert len(world.outbox("conferencing_assigned")) == len(ids)


def test_finishing_a_written_event_updates_its_managed_row_once(world: World) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    worker = world.worker()
    (job,) = worker.claim_jobs(10)
    updates: list[str] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("UPDATE managedevent"):
            updates.append(statement)

    event.listen(world.engine, "before_cursor_execute", count)
    try:
        worker.process_job(job)
    finally:
        event.remove(world.engine, "before_cursor_execute", count)

    assert world.managed("board-meeting").state == "written"
    assert len(world.outbox("conferencing_assigned")) == 1
    assert len(updates) == 1, updates


def test_an_upsert_wakes_the_writer_when_it_commits(
    world: World, managed_wakeup: threading.Event
) -> None:
    managed_wakeup.clear()
    assert world.upsert(world.google).status_code == 202
    assert managed_wakeup.is_set()


def test_a_refused_upsert_wakes_nobody(world: World, managed_wakeup: threading.Event) -> None:
    managed_wakeup.clear()
    assert world.upsert(world.google, summary="").status_code == 422
    assert not managed_wakeup.is_set()


# --------------------------------------------------------------------------- group commit


def test_items_finished_while_a_commit_runs_share_the_next_one() -> None:
    committed: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def commit(items: list[int]) -> None:
        if items == [0]:
            first_started.set()
            release.wait(10)
        committed.append(items)

    group = GroupCommit(commit)
    first = threading.Thread(target=group.submit, args=(0,))
    first.start()
    first_started.wait(10)
    others = [threading.Thread(target=group.submit, args=(n,)) for n in range(1, 6)]
    for thread in others:
        thread.start()
    while len(group._queue) < 5:  # all five are waiting behind the first commit
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(10)

    assert committed[0] == [0]
    assert sorted(committed[1]) == [1, 2, 3, 4, 5]
    assert len(committed) == 2


def test_a_lone_item_is_committed_at_once() -> None:
    committed: list[list[str]] = []
    GroupCommit(committed.append).submit("only")
    assert committed == [["only"]]


def test_a_bad_item_fails_alone_and_the_rest_of_its_batch_commits() -> None:
    committed: list[int] = []

    def commit(items: list[int]) -> None:
        if 3 in items:
            raise ValueError("item 3 is bad")
        committed.extend(items)

    group = GroupCommit(commit)
    group._queue = []  # batch of several: queue four behind a leader holding the lock
    errors: dict[int, BaseException] = {}

    def submit(item: int) -> None:
        try:
            group.submit(item)
        except ValueError as error:
            errors[item] = error

    with group._lock:
        group._leading = True  # as if a commit were running: the items queue up
        threads = [threading.Thread(target=submit, args=(n,)) for n in range(1, 5)]
        for thread in threads:
            thread.start()
    while len(group._queue) < 4:
        threading.Event().wait(0.01)
    group._lead()
    for thread in threads:
        thread.join(10)

    assert sorted(committed) == [1, 2, 4]
    assert list(errors) == [3]


def test_a_written_event_gives_its_calendar_slot_back_before_its_finishing_commit(
    world: World,
) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    worker = world.worker()
    finisher = worker.context.finisher
    assert finisher is not None
    held_at_commit: list[int] = []
    submit = finisher.submit

    def submit_and_look(item: Any) -> None:
        held_at_commit.append(worker.limits.held(item.job.calendar_id))
        submit(item)

    finisher.submit = submit_and_look  # type: ignore[method-assign]
    (job,) = worker.claim_jobs(10)
    worker.process_job(job)

    assert held_at_commit == [0]
    assert world.managed("board-meeting").state == "written"
