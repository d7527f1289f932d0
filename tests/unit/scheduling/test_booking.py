"""Booking a slot of a scheduling link: live slots, one claim per slot, fail closed."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from syncd.config import Settings
from syncd.cronofy.scheduling import RealTimeSchedulingRequest
from syncd.errors import ConflictError, FieldErrors, NotFoundError
from syncd.scheduling.booking import (
    Invitee,
    SlotTaken,
    book,
    cancel,
    link_for_token,
    offered_slots,
)
from syncd.scheduling.links import create_scheduling_link
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Booking, ManagedEvent, OutboxMessage, SchedulingLink
from tests.support.api import NOW, ApiAccount, ApiApplication, ApiWorld

DAY = dt.date(2030, 1, 8)
STALENESS = 3600.0


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    return account


def make_link(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    tenant: ApiApplication,
    members: list[ApiAccount],
    **fields: Any,
) -> str:
    body: dict[str, Any] = {
        "oauth": {"redirect_uri": "https://app.example.com/done"},
        "event": {"summary": "Interview", "tzid": "Europe/London"},
        "availability": {
            "participants": [{"members": [{"sub": m.id} for m in members], "required": "all"}],
            "required_duration": {"minutes": 60},
            "start_interval": {"minutes": 60},
            "buffer": {"after": {"minutes": 30}},
            "query_periods": [{"start": at(9).isoformat(), "end": at(13).isoformat()}],
        },
        "target_calendars": [{"sub": m.id, "calendar_id": m.calendar_ids[0]} for m in members],
        "callback_urls": {"completed_url": "https://93.184.216.34/rts"},
        "correlation_id": "cand-42",
    }
    body.update(fields)
    with session_scope(engine) as session:
        view = create_scheduling_link(
            session,
            box,
            settings,
            tenant.id,
            RealTimeSchedulingRequest.model_validate(body),
            "https://syncd.example",
        )
        return view.url.rsplit("/", 1)[1]


def starts(engine: Engine, token: str, now: dt.datetime = NOW) -> list[dt.datetime]:
    with session_scope(engine) as session:
        return [
            s.start
            for s in offered_slots(session, link_for_token(session, token), now, STALENESS).slots
        ]


def do_book(engine: Engine, token: str, start: dt.datetime, **prefill: str) -> Any:
    with session_scope(engine) as session:
        return book(
            session,
            token,
            start,
            Invitee("Cara", "cara@example.com", "America/New_York"),
            prefill,
            NOW,
            STALENESS,
        ).cancel_token


def test_slots_follow_busy_time_buffers_and_interval(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
) -> None:
    api_world.event(alice.calendar_ids[0], at(11), at(11, 15))
    token = make_link(engine, box, settings, tenant, [alice])
    # 10:00-11:00 needs 30 minutes free after it: 11:00-11:15 is busy.
    assert starts(engine, token) == [at(9), at(12)]


def test_minimum_notice_hides_slots_too_soon(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(
        engine, box, settings, tenant, [alice], minimum_notice={"hours": 22, "minutes": 30}
    )
    # NOW is 2030-01-07 12:00 UTC: nothing may start before 01-08 10:30.
    assert starts(engine, token) == [at(11), at(12)]


def test_booking_claims_the_slot_writes_events_and_queues_the_callback(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(engine, box, settings, tenant, [alice], single_use=False)
    do_book(engine, token, at(10), utm_source="crm")
    assert at(10) not in starts(engine, token)
    with session_scope(engine) as session:
        (event,) = session.execute(select(ManagedEvent)).scalars()
        assert event.request["start"] == at(10).isoformat()
        assert event.request["attendees"] == [{"email": "cara@example.com", "display_name": "Cara"}]
        assert event.request["scheduling"]["correlation_id"] == "cand-42"
        (message,) = session.execute(
            select(OutboxMessage).where(col(OutboxMessage.kind) == "slot_selected")
        ).scalars()
        payload = json.loads(message.body)
    assert payload["event"]["start"] == {"time": "2030-01-08T10:00:00Z", "tzid": "Europe/London"}
    assert payload["participants"] == [{"sub": alice.id}]
    assert (payload["tzid"], payload["correlation_id"], payload["utm_source"]) == (
        "America/New_York",
        "cand-42",
        "crm",
    )


def test_the_same_slot_twice_is_refused_as_just_taken(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(engine, box, settings, tenant, [alice], single_use=False)
    do_book(engine, token, at(10))
    with pytest.raises(SlotTaken, match="just taken"):
        do_book(engine, token, at(10))


def test_two_concurrent_bookers_get_one_booking(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(engine, box, settings, tenant, [alice], single_use=False)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            do_book(engine, token, at(10))
            outcomes.append("booked")
        except SlotTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["booked", "taken"]
    with session_scope(engine) as session:
        assert len(list(session.execute(select(Booking)).scalars())) == 1


def test_a_single_use_link_is_completed_by_its_booking(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(engine, box, settings, tenant, [alice])
    do_book(engine, token, at(9))
    with session_scope(engine) as session:
        (link,) = session.execute(select(SchedulingLink)).scalars()
        assert link.status == "completed"
    with pytest.raises(ConflictError):
        do_book(engine, token, at(12))


def test_a_member_out_of_sync_means_no_slots_and_a_reason(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
) -> None:
    bob = api_world.account(tenant, "bob@example.com")
    profile = api_world.profile(bob)
    api_world.calendar(bob, "Work")
    api_world.set_profile(profile, sync_status="disconnected")
    token = make_link(engine, box, settings, tenant, [alice, bob])
    with session_scope(engine) as session:
        offer = offered_slots(session, link_for_token(session, token), NOW, STALENESS)
    assert offer.slots == []
    assert offer.blocked_reason is not None and "bob" in offer.blocked_reason
    with pytest.raises(ConflictError):
        do_book(engine, token, at(9))


def test_a_cancel_link_works_once_and_frees_the_time(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(engine, box, settings, tenant, [alice], single_use=False)
    cancel_token = do_book(engine, token, at(10))
    with session_scope(engine) as session:
        cancel(session, cancel_token)
    assert at(10) in starts(engine, token)
    with session_scope(engine) as session:
        (event,) = session.execute(select(ManagedEvent)).scalars()
        assert event.state == "pending_delete"
        with pytest.raises(NotFoundError):
            cancel(session, cancel_token)


def test_an_overlong_correlation_id_is_refused(
    engine: Engine, box: SecretBox, settings: Settings, tenant: ApiApplication, alice: ApiAccount
) -> None:
    token = make_link(engine, box, settings, tenant, [alice])
    with pytest.raises(FieldErrors):
        do_book(engine, token, at(10), correlation_id="x" * 129)
