"""Issue 15, defect 4: ``kill -9`` during a CalDAV full sync, events deleted at the server
meanwhile, restart: the store equals the server.

A CalDAV full sync cannot resume from a page (sync-collection hands out one token, at
the end), so the restart starts the full sync again; it must still drop every row the
interrupted run stored that the server no longer has.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from syncd.radicale_server import RadicaleServer
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Event, Occurrence, Profile
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from tests.support.kill9 import (
    EVENTS,
    USER,
    SyncCommand,
    any_event_stored,
    kill_after_a_page,
    large_calendar_server,
)

pytestmark = [pytest.mark.store, pytest.mark.slow]

__all__ = ["large_calendar_server"]  # the fixture, used by name


def _stored(engine: Engine) -> set[str]:
    with Session(engine) as session:
        hrefs = session.execute(select(Event.provider_event_id)).scalars()
        return {href.rsplit("/", 1)[-1].removesuffix(".ics") for href in hrefs}


def test_kill_9_mid_full_sync_then_deletions_then_restart_leaves_the_server_s_events(
    database_url: str,
    engine: Engine,
    box: SecretBox,
    secret_key: str,
    large_calendar_server: RadicaleServer,
) -> None:
    with session_scope(engine) as session:
        application = create_application(session, box, "kill9").application
        account = create_account(session, application.id, f"{USER}@example.com", timezone="Etc/UTC")
        credentials = {"url": large_calendar_server.url + "/", "username": USER, "password": "x"}
        profile_id = create_profile(session, box, account, "caldav", USER, credentials).id
    sync = SyncCommand(database_url, secret_key)
    kill_after_a_page(sync, lambda: any_event_stored(engine))
    partial = _stored(engine)
    assert 0 < len(partial) < EVENTS, "the kill must land between two page commits"

    gone = sorted(partial)[:3]  # stored by the killed run, then deleted at the server
    calendar_url = large_calendar_server.calendar_url(USER, "work")
    history = (
        large_calendar_server.storage_folder / "collection-root" / USER / "work" / ".Radicale.cache"
    )
    for uid in gone:
        large_calendar_server.delete_event(calendar_url, uid)
        # Radicale would still list the deletion to an initial sync from its history;
        # Xandikos and most servers do not (nor Radicale once its history expires).
        (history / "history" / f"{uid}.ics").unlink(missing_ok=True)
    finished = sync.run()
    assert finished.returncode == 0, finished.stderr

    expected = {f"ev{i:05d}" for i in range(EVENTS)} - set(gone)
    assert _stored(engine) == expected
    with Session(engine) as session:
        occurrences = session.execute(select(func.count()).select_from(Occurrence)).scalar()
        profile = session.get(Profile, profile_id)
        assert profile is not None and profile.sync_status == "active"
    assert occurrences == len(expected)
