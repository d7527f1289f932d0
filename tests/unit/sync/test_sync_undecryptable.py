"""A key that does not decrypt a profile's credentials is a recorded failure, not a hang."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from syncd.cli.status import fleet_summary
from syncd.config import Settings
from syncd.store.crypto import SecretBox, generate_key
from syncd.store.db import session_scope
from syncd.store.models import Profile, SyncRun
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store

MESSAGE = "credentials cannot be decrypted with the configured keys"


def test_a_wrong_key_records_the_run_releases_the_lease_and_says_why(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "tests").application
        account = create_account(session, application.id, "a@example.com")
        profile = create_profile(session, box, account, "fake", "f@example.com", {"token": "t"})
        profile.lease_owner = "test"
        session.add(profile)
        profile_id = profile.id
    other_key = SecretBox([generate_key()])
    remote = FakeAccount()
    remote.add_calendar("work")
    context = SyncContext(
        engine,
        settings,
        other_key,
        worker_id="test",
        provider_factory=lambda *_: FakeProvider(remote),
    )

    outcome = sync_profile(context, profile_id)

    assert outcome.outcome == "key_error"
    assert outcome.detail == MESSAGE
    with Session(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None
        assert stored.lease_owner is None and stored.lease_expires_at is None
        assert stored.sync_status == "pending"
        assert MESSAGE in stored.status_reason
        assert stored.last_error == MESSAGE
        assert stored.next_due_at is not None  # retried with backoff once the key is fixed
        runs = list(session.execute(select(SyncRun.outcome, SyncRun.detail)).all())
    assert [tuple(run) for run in runs] == [("key_error", MESSAGE)]
    errors = fleet_summary(engine, settings)["last_errors"]
    assert [row["error"] for row in errors] == [MESSAGE]

    # the right key again: the next run syncs and clears the reason
    context.box = box
    assert sync_profile(context, profile_id).outcome == "ok"
    with Session(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None and stored.sync_status == "active"
