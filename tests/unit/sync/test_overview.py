"""The operator view's grouping: profiles and accounts by the status callers see."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from syncd.statuses import SyncStatus
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.sync.overview import FleetOverview, Group, ProfileLine, fleet_overview
from tests.support.api import NOW, ApiWorld

BOUND = 3600.0


def overview_of(engine: Engine, limit: int = 200) -> FleetOverview:
    with session_scope(engine) as session:
        return fleet_overview(session, NOW, BOUND, limit=limit)


def ids(group: Group[ProfileLine]) -> list[str]:
    return [line.profile.id for line in group.lines]


def test_profiles_are_grouped_by_their_effective_status(engine: Engine, box: SecretBox) -> None:
    world = ApiWorld(engine, box)
    account = world.account(world.application("a"), "pat@example.com")
    fresh = world.profile(account)
    stale = world.profile(account, last_success_at=NOW - dt.timedelta(hours=2))
    refused = world.profile(account, sync_status="disconnected")
    world.set_profile(refused, status_reason="the provider refused the credentials")
    overview = overview_of(engine)
    assert ids(overview.profiles[SyncStatus.ACTIVE]) == [fresh]
    assert ids(overview.profiles[SyncStatus.PENDING]) == [stale]
    (line,) = overview.profiles[SyncStatus.DISCONNECTED].lines
    assert (line.profile.id, line.reason) == (refused, "the provider refused the credentials")
    assert (line.account.email, line.application_name) == ("pat@example.com", "a")


def test_an_account_is_as_trustworthy_as_its_worst_profile(engine: Engine, box: SecretBox) -> None:
    world = ApiWorld(engine, box)
    app = world.application("a")
    fine, broken, empty = (world.account(app, f"{n}@example.com") for n in ("f", "b", "e"))
    world.profile(fine)
    world.profile(broken)
    world.profile(broken, sync_status="disconnected")
    overview = overview_of(engine)
    by_status = {
        status: [line.account.id for line in group.lines]
        for status, group in overview.accounts.items()
    }
    assert by_status == {
        SyncStatus.ACTIVE: [fine.id],
        SyncStatus.PENDING: [empty.id],  # no calendar data at all: not to be trusted yet
        SyncStatus.DISCONNECTED: [broken.id],
    }


def test_listings_are_capped_but_counts_are_complete(engine: Engine, box: SecretBox) -> None:
    world = ApiWorld(engine, box)
    account = world.account(world.application("a"), "pat@example.com")
    for _ in range(3):
        world.profile(account)
    group = overview_of(engine, limit=2).profiles[SyncStatus.ACTIVE]
    assert (group.total, len(group.lines), group.more) == (3, 2, 1)
