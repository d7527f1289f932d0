"""A server that does not implement the protocol disconnects the profile, and says so once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from providers.base import RemoteCalendar, Unsupported
from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.support.fake_provider import FakeAccount, FakeProvider

pytestmark = pytest.mark.store


class NotCalDAV(FakeProvider):
    """Answers 501 to the calendar listing, as a plain web server does to PROPFIND."""

    def list_calendars(self) -> list[RemoteCalendar]:
        raise Unsupported("501 Not Implemented: not a CalDAV server")


def test_an_unsupported_server_disconnects_the_profile_and_notifies_once(
    engine: Engine, settings: Settings, box: SecretBox
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "tests").application
        account = create_account(session, application.id, "a@example.com")
        profile = create_profile(session, box, account, "fake", "f@example.com", {"token": "t"})
        profile_id = profile.id
    disconnected: list[str] = []
    context = SyncContext(
        engine,
        settings,
        box,
        worker_id="test",
        provider_factory=lambda *_: NotCalDAV(FakeAccount()),
    )
    context.on_disconnected.append(lambda _session, p: disconnected.append(p.id))

    assert sync_profile(context, profile_id).outcome == "unsupported"
    assert sync_profile(context, profile_id).outcome == "skipped"  # disconnected: not retried

    assert disconnected == [profile_id]  # profile_disconnected goes out once
    with Session(engine) as session:
        stored = session.get(Profile, profile_id)
        assert stored is not None
        assert stored.sync_status == "disconnected"
        assert "not a CalDAV server" in stored.status_reason
        assert stored.next_due_at is None  # never retried until reauthorized
