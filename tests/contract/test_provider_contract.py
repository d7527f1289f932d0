"""The provider contract: one scenario, applied through Google, Microsoft and CalDAV alike,
ends in the same busy time in the store, equal to what each provider holds.

Each provider runs behind its test double (Google and Graph emulators, a real Radicale
behind the fault proxy) with the real adapter, the real engine and the store. The
expected intervals are written out from the script below, independently of every
provider and of syncd, so three passing cases also mean three identical stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.sync.run import SyncContext, sync_profile
from tests.support.provider_harness import (
    PROVIDERS,
    ZONE,
    Interval,
    ProviderDriver,
    RadicaleAccounts,
    connect_profile,
    in_window,
    profile_row,
    running_driver,
    stored_busy,
    stored_calendar_names,
    stored_generations,
    stored_item_counts,
    sync_context,
    utc_interval,
)

pytestmark = pytest.mark.store

DAY0 = dt.date.today() + dt.timedelta(days=3)
RENAMED = "Work (renamed)"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Wall-clock time ``day`` days after DAY0 in the scenario's zone."""
    return dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(hour, minute), ZoneInfo(ZONE))


def span(day: int, start: tuple[int, int], end: tuple[int, int]) -> Interval:
    return utc_interval(at(day, *start), at(day, *end))


#: After the first sync: a, a daily series of five, b and d.
AFTER_CREATE = sorted(
    [
        span(0, (9, 0), (10, 0)),
        *(span(day, (11, 0), (12, 0)) for day in range(5)),
        span(1, (14, 0), (15, 0)),
        span(3, (8, 0), (8, 30)),
    ]
)
#: The end: a moved, the series' second instance cancelled, b and d deleted, c created.
FINAL = sorted(
    [
        span(0, (15, 0), (16, 30)),
        *(span(day, (11, 0), (12, 0)) for day in (0, 2, 3, 4)),
        span(2, (16, 30), (17, 15)),
    ]
)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleAccounts]:
    with RadicaleAccounts(tmp_path_factory.mktemp("contract-radicale")) as accounts:
        yield accounts


@pytest.fixture(params=PROVIDERS)
def driver(request: pytest.FixtureRequest, radicale: RadicaleAccounts) -> Iterator[ProviderDriver]:
    with running_driver(request.param, radicale) as running:
        yield running


def synced(context: SyncContext, profile_id: str) -> None:
    outcome = sync_profile(context, profile_id)
    assert outcome.outcome == "ok", outcome.detail
    assert outcome.skipped_items == 0


def assert_store_matches_provider(engine: Engine, profile_id: str, driver: ProviderDriver) -> None:
    assert stored_busy(engine, profile_id) == in_window(driver.expected_busy())
    counts = stored_item_counts(engine, profile_id)
    assert set(counts) == driver.provider_item_ids()
    assert max(counts.values(), default=1) == 1, "an item is stored twice"


def test_scenario_ends_in_the_same_busy_time_for_every_provider(
    engine: Engine, settings: Settings, box: SecretBox, driver: ProviderDriver
) -> None:
    context = sync_context(engine, settings, box, driver)
    profile_id = connect_profile(engine, box, driver)
    assert profile_row(engine, profile_id).sync_status == "pending"

    driver.create_event("single-a", at(0, 9), at(0, 10))
    driver.create_event("daily-s", at(0, 11), at(0, 12), rrule="FREQ=DAILY;COUNT=5")
    driver.create_event("single-b", at(1, 14), at(1, 15))
    driver.create_event("single-d", at(3, 8), at(3, 8, 30))
    synced(context, profile_id)
    assert stored_busy(engine, profile_id) == AFTER_CREATE
    assert_store_matches_provider(engine, profile_id, driver)
    assert profile_row(engine, profile_id).sync_status == "active"
    assert stored_calendar_names(engine, profile_id) == ["Work"]

    driver.move_event("single-a", at(0, 15), at(0, 16, 30))
    driver.cancel_instance("daily-s", at(1, 11))
    driver.delete_event("single-b")
    driver.rename_calendar(RENAMED)
    synced(context, profile_id)
    assert_store_matches_provider(engine, profile_id, driver)
    assert stored_calendar_names(engine, profile_id) == [RENAMED]

    generations = stored_generations(engine, profile_id)
    driver.lose_cursor()
    driver.create_event("single-c", at(2, 16, 30), at(2, 17, 15))
    driver.delete_event("single-d")
    synced(context, profile_id)
    assert stored_generations(engine, profile_id) == [g + 1 for g in generations]  # resynced

    assert stored_busy(engine, profile_id) == FINAL
    assert in_window(driver.expected_busy()) == FINAL
    assert_store_matches_provider(engine, profile_id, driver)
    assert profile_row(engine, profile_id).sync_status == "active"


def test_no_change_sync_changes_nothing_for_every_provider(
    engine: Engine, settings: Settings, box: SecretBox, driver: ProviderDriver
) -> None:
    context = sync_context(engine, settings, box, driver)
    profile_id = connect_profile(engine, box, driver)
    driver.create_event("daily-s", at(0, 11), at(0, 12), rrule="FREQ=DAILY;COUNT=3")
    synced(context, profile_id)
    before = stored_busy(engine, profile_id)

    outcome = sync_profile(context, profile_id)

    assert outcome.outcome == "ok" and outcome.changes == 0
    assert stored_busy(engine, profile_id) == before == in_window(driver.expected_busy())
