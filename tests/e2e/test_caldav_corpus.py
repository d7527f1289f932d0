"""The iCalendar interoperability corpus (tests/corpus/ical/) on Radicale and Xandikos.

Every resource is stored on the server as written, one calendar holds them all (so one
unusable resource must not cost the others), the profile syncs through the real adapter
and engine, and each resource's spans must be exactly those ``expected.json`` lists.
A second, no-change sync must keep them (series re-expanded from the stored rows).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select
from sqlmodel import Session

from syncd.config import Settings
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.events import ExpansionWindow, rebuild_series
from syncd.store.models import Calendar, Event, Occurrence
from syncd.store.profiles import create_profile
from syncd.store.tenants import create_account, create_application
from syncd.sync.run import SyncContext, sync_profile
from tests.support.paths import REPO_ROOT
from tests.support.xandikos import CalDAVUser

pytestmark = pytest.mark.store

CORPUS = REPO_ROOT / "tests" / "corpus" / "ical"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
ACCOUNT_ZONE = "Europe/Berlin"


def _resources(server: str) -> list[str]:
    """The resources ``server`` accepts (``refused_by`` in expected.json says which not)."""
    return [name for name, entry in EXPECTED.items() if server not in entry.get("refused_by", {})]


def _expected(server: str) -> dict[str, list[list[str]]]:
    return {name: sorted(EXPECTED[name]["spans"]) for name in _resources(server)}


def _uid(name: str) -> str:
    return name.removesuffix(".ics").replace("/", "--")


def _spans_by_resource(engine: Engine, server: str) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {name: [] for name in _resources(server)}
    by_uid = {_uid(name): name for name in EXPECTED}
    with Session(engine) as session:
        rows = session.execute(
            select(
                Event.provider_event_id,
                Occurrence.start_utc,
                Occurrence.end_utc,
                Occurrence.free_busy_status,
            ).join(Event, Event.id == Occurrence.event_id)  # type: ignore[arg-type]
        ).all()
    for href, start, end, status in rows:
        name = by_uid[href.rsplit("/", 1)[-1].removesuffix(".ics")]
        found[name].append([_text(start), _text(end), str(status)])
    return {name: sorted(spans) for name, spans in found.items()}


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def synced_corpus(
    engine: Engine, settings: Settings, box: SecretBox, caldav_user: CalDAVUser
) -> tuple[SyncContext, str]:
    url = caldav_user.make_calendar("corpus", "Corpus")
    me = f"{caldav_user.user}@example.com"
    for name in _resources(caldav_user.kind):
        text = (CORPUS / name).read_text().replace("%ME%", me)
        caldav_user.put(url, _uid(name), text)
    for name in set(EXPECTED) - set(_resources(caldav_user.kind)):
        with pytest.raises(requests.HTTPError):  # still refused, as expected.json says
            caldav_user.put(url, _uid(name), (CORPUS / name).read_text())
    with session_scope(engine) as session:
        application = create_application(session, box, f"corpus-{caldav_user.kind}").application
        account = create_account(session, application.id, me, timezone=ACCOUNT_ZONE)
        profile_id = create_profile(
            session, box, account, "caldav", caldav_user.user, caldav_user.credentials
        ).id
    # Fixed dates in 2027: a window wide enough to hold them for years.
    wide = settings.model_copy(
        update={"expansion_history_days": 3650, "expansion_horizon_days": 1200}
    )
    context = SyncContext(engine, wide, box, worker_id="corpus")
    outcome = sync_profile(context, profile_id)
    assert outcome.outcome == "ok", outcome.detail
    return context, profile_id


def test_every_corpus_resource_produces_its_spans(
    engine: Engine, synced_corpus: tuple[SyncContext, str], caldav_user: CalDAVUser
) -> None:
    assert _spans_by_resource(engine, caldav_user.kind) == _expected(caldav_user.kind)


def test_the_spans_survive_a_no_change_sync_and_a_rebuild_from_the_stored_rows(
    engine: Engine,
    synced_corpus: tuple[SyncContext, str],
    caldav_user: CalDAVUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    context, profile_id = synced_corpus
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert sync_profile(context, profile_id).changes == 0
    # Defect 10: the series that cannot expand (SKIP=FORWARD) is not retried or re-logged.
    assert not [r for r in caplog.records if "malformed series" in r.getMessage()]
    with session_scope(engine) as session:
        (calendar,) = session.execute(select(Calendar)).scalars()
        keys = set(session.execute(select(Event.series_key)).scalars())
        window = ExpansionWindow.around(
            dt.datetime.now(dt.UTC),
            context.settings.expansion_history_days,
            context.settings.expansion_horizon_days,
        )
        rebuild_series(session, calendar.id, keys, window, ACCOUNT_ZONE)
    assert _spans_by_resource(engine, caldav_user.kind) == _expected(caldav_user.kind)
