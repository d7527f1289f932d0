"""Calendar Services' listing in words and removal: the effective status the API shows,
said the way a person reads it, and one person's profiles only."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, select

from syncd.config import Settings
from syncd.errors import NotFoundError
from syncd.notify.channels import create_channel
from syncd.statuses import SyncStatus
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Calendar, OutboxMessage, Profile
from syncd.store.profiles import create_profile, list_profiles, revoke_profile_access
from syncd.store.tenants import create_account, create_application
from syncd.sync.calendar_services import ago, calendar_services, remove_calendar_service

pytestmark = pytest.mark.store

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def people(engine: Engine, box: SecretBox) -> tuple[Account, Account, Profile]:
    with session_scope(engine) as session:
        app = create_application(session, box, "acme").application
        pat = create_account(session, app.id, "pat@example.com")
        sam = create_account(session, app.id, "sam@example.com")
        profile = create_profile(session, box, pat, "google", "pat@gmail.com", {"t": 1})
        profile.sync_status = SyncStatus.ACTIVE
        profile.initial_sync_done = True
        profile.last_success_at = NOW - dt.timedelta(minutes=5)
        session.add(profile)
        return pat, sam, profile


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(10, "just now"), (60, "1 minute ago"), (7200, "2 hours ago"), (86400 * 3, "3 days ago")],
)
def test_ago_says_how_long_ago_as_a_person_would(seconds: int, words: str) -> None:
    assert ago(NOW - dt.timedelta(seconds=seconds), NOW) == words


def test_a_profile_never_synced_says_never() -> None:
    assert ago(None, NOW) == "never"


def test_an_active_profile_reads_up_to_date_with_its_last_sync(
    engine: Engine, box: SecretBox
) -> None:
    pat, _, _ = people(engine, box)
    with session_scope(engine) as session:
        (line,) = calendar_services(session, pat.id, NOW, staleness_bound=3600)
    assert (line.provider_label, line.status_words, line.last_synced) == (
        "Google",
        "Up to date",
        "5 minutes ago",
    )
    assert line.explanation == ""


def test_stale_data_reads_as_catching_up_as_the_api_says_pending(
    engine: Engine, box: SecretBox
) -> None:
    pat, _, _ = people(engine, box)
    with session_scope(engine) as session:
        (line,) = calendar_services(session, pat.id, NOW, staleness_bound=60)
    assert (line.sync_status, line.status_words) == (SyncStatus.PENDING, "Catching up")
    assert "may be out of date" in line.explanation


def test_a_disconnected_profile_says_why_and_what_to_do(engine: Engine, box: SecretBox) -> None:
    pat, _, profile = people(engine, box)
    with session_scope(engine) as session:
        revoke_profile_access(session, box, session.get(Profile, profile.id))  # type: ignore[arg-type]
    with session_scope(engine) as session:
        (line,) = calendar_services(session, pat.id, NOW, staleness_bound=3600)
    assert line.disconnected and line.status_words == "Disconnected"
    assert "access was revoked" in line.explanation and "Reconnect it" in line.explanation


def test_nobody_removes_another_persons_profile(
    engine: Engine, box: SecretBox, settings: Settings
) -> None:
    _, sam, profile = people(engine, box)
    with pytest.raises(NotFoundError):
        remove_calendar_service(engine, settings, box, sam, profile.id)
    with session_scope(engine) as session:
        assert [row.id for row in list_profiles(session)] == [profile.id]


def test_removing_ones_own_profile_deletes_it(
    engine: Engine, box: SecretBox, settings: Settings
) -> None:
    pat, _, profile = people(engine, box)
    remove_calendar_service(engine, settings, box, pat, profile.id)
    with session_scope(engine) as session:
        assert list_profiles(session) == []


def test_removing_a_profile_tells_the_accounts_channels(
    engine: Engine, box: SecretBox, settings: Settings
) -> None:
    pat, _, profile = people(engine, box)
    with session_scope(engine) as session:
        session.add(Calendar(id="cal_work", profile_id=profile.id, provider_calendar_id="w"))
        account = session.get(Account, pat.id)
        assert account is not None
        receiving = settings.model_copy(update={"webhook_allowed_hosts": ["127.0.0.1"]})
        create_channel(session, receiving, account, "http://127.0.0.1:9/hook")
    remove_calendar_service(engine, settings, box, pat, profile.id)
    with session_scope(engine) as session:
        kinds = [
            json.loads(message.body)["notification"]["type"]
            for message in session.execute(select(OutboxMessage)).scalars()
        ]
    assert kinds == ["verification", "profile_disconnected", "change"]
