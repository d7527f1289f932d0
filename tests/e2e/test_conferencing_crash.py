"""``kill -9`` of a real ``syncd run`` daemon in the middle of a conferencing job.

The daemon is killed right after Zoom recorded the meeting creation (before or after our
commit of its id), or while the calendar write is in flight (the Google emulator holds
that request). A second daemon takes the expired lease over and finishes the job: the
caller ends up with exactly one Zoom meeting, one Google event carrying its link and one
``conferencing_assigned`` delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine

from syncd.store.crypto import SecretBox
from tests.emulators.google import Fault
from tests.support.conferencing_live import (
    GOOGLE_CALENDAR,
    LiveWorld,
    emulator_environment,
    event_body,
    live_world,
    wait_for,
)
from tests.support.fleet import daemon_environment, start_daemon

pytestmark = pytest.mark.slow

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=5), dt.time(9), tzinfo=dt.UTC)
MEETINGS = "/v2/users/me/meetings"
#: The killed daemon's claim on the row lapses after this, so the next one takes over.
LEASE_SECONDS = 3


@pytest.fixture
def live(engine: Engine, database_url: str, secret_key: str, box: SecretBox) -> Iterator[LiveWorld]:
    with live_world(engine, database_url, secret_key, box, run_daemon=False) as world:
        yield world


def environment(world: LiveWorld, database_url: str, secret_key: str) -> dict[str, str]:
    base = daemon_environment(
        database_url, secret_key, world.google, lease_seconds=LEASE_SECONDS, log_level="INFO"
    )
    return base | emulator_environment(world.google, world.graph, world.zoom, world.goto)


@pytest.mark.parametrize("moment", ["after-meeting-create", "during-event-write"])
def test_a_daemon_killed_mid_job_leaves_one_meeting_and_one_webhook(
    live: LiveWorld, database_url: str, secret_key: str, tmp_path: Path, moment: str
) -> None:
    profile_id = live.connect("zoom", live.zoom.issue_grant())
    event_items = f"/calendar/v3/calendars/{quote(GOOGLE_CALENDAR, safe='')}/events/"
    live.google.inject(Fault.delay(8), path_prefix=event_items)  # the write hangs
    subscriptions = [
        {
            "type": "webhook",
            "uri": live.receiver.url(),
            "interactions": [{"type": "conferencing_assigned"}],
        }
    ]
    live.sdk().upsert_event(
        live.google_calendar,
        event_body(
            "interview",
            START,
            conferencing={"profile_id": profile_id},
            subscriptions=subscriptions,
        ),
    )
    env = environment(live, database_url, secret_key)

    first = start_daemon(env, tmp_path / "first.log")
    try:
        if moment == "after-meeting-create":
            wait_for(lambda: bool(live.zoom.calls("POST", MEETINGS)), 30, "the meeting create")
        else:
            wait_for(
                lambda: any(r.method == "PUT" for r in list(live.google.requests)),
                30,
                "the event write",
            )
    finally:
        first.kill()
    assert live.received() == []
    live.google.clear_faults()
    time.sleep(LEASE_SECONDS)

    second = start_daemon(env, tmp_path / "second.log")
    try:
        live.wait_for_webhooks(1, timeout=30)
        time.sleep(1.5)  # a duplicate, if any, would arrive now
    finally:
        assert second.terminate() == 0, second.log_text()

    assert len(live.zoom.calls("POST", MEETINGS)) == 1
    (meeting,) = live.zoom.meetings.values()
    (delivery,) = live.received()
    body = json.loads(delivery.body)
    assert body["event"]["conferencing"]["join_url"] == meeting["join_url"]
    assert live.verifier().hmac_valid(
        delivery.headers["cronofy-hmac-sha256"], delivery.body.decode()
    )
    ours = [
        item
        for item in live.google.stored_items(GOOGLE_CALENDAR)
        if item.get("status") != "cancelled"
    ]
    assert len(ours) == 1 and meeting["join_url"] in ours[0]["description"]
    assert live.managed("interview").state == "written"


def test_a_daemon_killed_while_writing_an_8x8_event_leaves_one_event_and_one_webhook(
    live: LiveWorld, database_url: str, secret_key: str, tmp_path: Path
) -> None:
    """An 8x8 room is committed only with the written event (no commit of its own), but
    it is derived from the row's secret: the next daemon writes the same event with the
    same room, so the hung first write landing late still agrees with the one webhook."""
    event_items = f"/calendar/v3/calendars/{quote(GOOGLE_CALENDAR, safe='')}/events/"
    live.google.inject(Fault.delay(8), path_prefix=event_items)  # the write hangs
    subscriptions = [
        {
            "type": "webhook",
            "uri": live.receiver.url(),
            "interactions": [{"type": "conferencing_assigned"}],
        }
    ]
    live.sdk().upsert_event(
        live.google_calendar,
        event_body(
            "standup", START, conferencing={"profile_id": "default"}, subscriptions=subscriptions
        ),
    )
    env = environment(live, database_url, secret_key)

    first = start_daemon(env, tmp_path / "first.log")
    try:
        wait_for(
            lambda: any(r.method == "PUT" for r in list(live.google.requests)),
            30,
            "the event write",
        )
    finally:
        first.kill()
    assert live.received() == []
    live.google.clear_faults()
    time.sleep(LEASE_SECONDS)

    second = start_daemon(env, tmp_path / "second.log")
    try:
        live.wait_for_webhooks(1, timeout=30)
        time.sleep(1.5)  # a duplicate, if any, would arrive now
    finally:
        assert second.terminate() == 0, second.log_text()

    (delivery,) = live.received()
    join_url = json.loads(delivery.body)["event"]["conferencing"]["join_url"]
    assert join_url.startswith("https://8x8.vc/")
    ours = [
        item
        for item in live.google.stored_items(GOOGLE_CALENDAR)
        if item.get("status") != "cancelled"
    ]
    assert len(ours) == 1 and join_url in ours[0]["description"]
    assert live.managed("standup").state == "written"
