"""The fault matrix: every provider × every kind of provider trouble.

For each case: a transient outage during the very first sync leaves the profile
``pending``; a clean sync makes it ``active``; the provider changes and the fault
starts; the run under the fault leaves ``active`` alone (only revoked credentials make
it ``disconnected``, and a disconnected profile is not synced again); the fault stops
(revoked: the profile is reauthorized) and the next run brings the store back to
exactly what the provider holds, with no item stored twice, and the profile ``active``.

The matrix runs on SQLite only so it stays around a minute; the same engine paths run
on Postgres in ``test_provider_contract.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from syncd.config import Settings, load_settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Profile, utcnow
from syncd.store.profiles import reauthorize_profile
from syncd.sync.run import SyncContext, SyncOutcome, sync_profile
from tests.support.provider_harness import (
    FAULT_KINDS,
    PROVIDERS,
    RETRY_AFTER_SECONDS,
    SHORT_HTTP_TIMEOUT,
    TRANSIENT_FAULTS,
    ZONE,
    FaultKind,
    ProviderDriver,
    RadicaleAccounts,
    connect_profile,
    in_window,
    profile_row,
    running_driver,
    stored_busy,
    stored_item_counts,
    sync_context,
)

DAY0 = dt.date.today() + dt.timedelta(days=2)


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(hour), ZoneInfo(ZONE))


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleAccounts]:
    with RadicaleAccounts(tmp_path_factory.mktemp("fault-radicale")) as accounts:
        yield accounts


@pytest.fixture
def matrix_settings(tmp_path: Path, secret_key: str) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path / 'syncd.db'}",
        secret_keys=[secret_key],
        poll_interval=60,
        staleness_bound=3600,
    )


def assert_store_equals_provider(engine: Engine, profile_id: str, driver: ProviderDriver) -> None:
    assert stored_busy(engine, profile_id) == in_window(driver.expected_busy())
    counts = stored_item_counts(engine, profile_id)
    assert set(counts) == driver.provider_item_ids()
    assert [item for item, count in counts.items() if count > 1] == [], "duplicated items"


def run(context: SyncContext, profile_id: str) -> SyncOutcome:
    return sync_profile(context, profile_id)


@pytest.mark.parametrize("fault", FAULT_KINDS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_store_recovers_exactly_and_status_is_right_at_every_step(
    provider: str,
    fault: FaultKind,
    radicale: RadicaleAccounts,
    sqlite_engine: Engine,
    matrix_settings: Settings,
    box: SecretBox,
) -> None:
    engine = sqlite_engine
    with running_driver(provider, radicale) as driver:
        timeout = SHORT_HTTP_TIMEOUT if fault == "timeout" else 10.0
        context = sync_context(engine, matrix_settings, box, driver, http_timeout=timeout)
        profile_id = connect_profile(engine, box, driver)
        driver.create_event("single-a", at(0, 9), at(0, 10))
        driver.create_event("daily-s", at(0, 11), at(0, 12), rrule="FREQ=DAILY;COUNT=3")

        if fault in TRANSIENT_FAULTS:  # an outage during the very first sync
            driver.inject(fault)
            first = run(context, profile_id)
            assert first.outcome == "transient_error", first.detail
            assert profile_row(engine, profile_id).sync_status == "pending"
            driver.clear_faults()
        assert run(context, profile_id).outcome == "ok"
        assert profile_row(engine, profile_id).sync_status == "active"
        assert_store_equals_provider(engine, profile_id, driver)

        driver.create_event("single-n", at(1, 15), at(1, 16))
        driver.cancel_instance("daily-s", at(1, 11))
        driver.delete_event("single-a")
        before = stored_busy(engine, profile_id)
        driver.inject(fault)
        during = run(context, profile_id)
        profile = profile_row(engine, profile_id)

        if fault in TRANSIENT_FAULTS:
            assert during.outcome == "transient_error", during.detail
            assert profile.sync_status == "active"
            assert stored_busy(engine, profile_id) == before  # nothing half-applied
            if fault == "rate_limited":
                assert profile.next_due_at is not None
                assert profile.next_due_at >= utcnow() + dt.timedelta(seconds=RETRY_AFTER_SECONDS)
        elif fault == "revoked_credentials":
            assert during.outcome == "auth_revoked", during.detail
            assert profile.sync_status == "disconnected"
            assert run(context, profile_id).outcome == "skipped"  # never retried on its own
            assert profile_row(engine, profile_id).sync_status == "disconnected"
        elif fault == "expired_cursor":
            assert during.outcome == "ok", during.detail  # a full resync in the same run
            assert profile.sync_status == "active"
            assert_store_equals_provider(engine, profile_id, driver)
        else:  # malformed_item: skipped, the rest of the page is applied
            assert during.outcome == "ok", during.detail
            assert during.skipped_items >= 1
            assert profile.sync_status == "active"
            assert_store_equals_provider(engine, profile_id, driver)

        driver.clear_faults()
        if fault == "revoked_credentials":
            with session_scope(engine) as session:
                stored = session.get(Profile, profile_id)
                assert stored is not None
                reauthorize_profile(session, box, stored, driver.fresh_credentials())
            assert profile_row(engine, profile_id).sync_status == "pending"
        after = run(context, profile_id)

        assert after.outcome == "ok", after.detail
        assert after.skipped_items == 0
        assert profile_row(engine, profile_id).sync_status == "active"
        assert_store_equals_provider(engine, profile_id, driver)
