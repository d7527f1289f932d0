"""Every conferencing mode through a real server and a real daemon on 127.0.0.1.

pycronofy upserts the event; the daemon's job creates the meeting (or asks the calendar
provider for Meet/Teams) and writes the event to the Google or Graph emulator; the
outbox delivers ``conferencing_assigned`` to a local receiver, signed so that pycronofy's
own ``hmac_valid`` accepts it; ``read_events`` shows the same join details and
``delete_event`` removes the event (and the Zoom meeting) again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from syncd.store.crypto import SecretBox
from tests.support.conferencing_live import (
    GOOGLE_CALENDAR,
    MICROSOFT_CALENDAR,
    LiveWorld,
    event_body,
    live_world,
    wait_for,
)

START = dt.datetime.combine(dt.date.today() + dt.timedelta(days=7), dt.time(14, 0), tzinfo=dt.UTC)


@pytest.fixture
def live(engine: Engine, database_url: str, secret_key: str, box: SecretBox) -> Iterator[LiveWorld]:
    with live_world(engine, database_url, secret_key, box) as world:
        yield world


def google_join_url(world: LiveWorld, provider_event_id: str) -> str:
    event = world.google.event(GOOGLE_CALENDAR, provider_event_id)
    entry_points = (event.get("conferenceData") or {}).get("entryPoints") or []
    video = [p["uri"] for p in entry_points if p.get("entryPointType") == "video"]
    return video[0] if video else str(event.get("location"))


@dataclass(frozen=True)
class Mode:
    """How one conferencing mode is asked for and where its meeting must show up."""

    name: str
    calendar: str  # "google" | "microsoft"
    arrange: Callable[[LiveWorld], dict[str, Any]]
    description: str
    provider_join_url: Callable[[LiveWorld, str], str]


def default_8x8(world: LiveWorld) -> dict[str, Any]:
    return {"profile_id": "default"}


def default_zoom(world: LiveWorld) -> dict[str, Any]:
    world.set_default(world.connect("zoom", world.zoom.issue_grant()))
    return {"profile_id": "default"}


def explicit(world: LiveWorld) -> dict[str, Any]:
    return {
        "profile_id": "explicit",
        "provider_description": "Videotech",
        "join_url": "https://videotech.example.com/join/xyz",
    }


def integrated(world: LiveWorld) -> dict[str, Any]:
    return {"profile_id": "integrated"}


def pro_zoom(world: LiveWorld) -> dict[str, Any]:
    return {"profile_id": world.connect("zoom", world.zoom.issue_grant())}


def pro_goto(world: LiveWorld) -> dict[str, Any]:
    return {"profile_id": world.connect("goto", world.goto.issue_grant())}


def zoom_join_url(world: LiveWorld, _provider_event_id: str) -> str:
    (meeting,) = world.zoom.meetings.values()
    return str(meeting["join_url"])


def goto_join_url(world: LiveWorld, _provider_event_id: str) -> str:
    (meeting_id,) = world.goto.meetings
    return f"https://global.gotomeeting.com/join/{meeting_id}"


def explicit_join_url(world: LiveWorld, provider_event_id: str) -> str:
    return str(world.google.event(GOOGLE_CALENDAR, provider_event_id)["location"])


def teams_join_url(world: LiveWorld, provider_event_id: str) -> str:
    event = world.graph.event(MICROSOFT_CALENDAR, provider_event_id)
    return str(event["onlineMeeting"]["joinUrl"])


MODES = [
    Mode("default-8x8", "google", default_8x8, "8x8", explicit_join_url),
    Mode("default-zoom", "google", default_zoom, "Zoom", zoom_join_url),
    Mode("explicit", "google", explicit, "Videotech", explicit_join_url),
    Mode("integrated-meet", "google", integrated, "Google Meet", google_join_url),
    Mode("integrated-teams", "microsoft", integrated, "Microsoft Teams", teams_join_url),
    Mode("pro-zoom", "google", pro_zoom, "Zoom", zoom_join_url),
    Mode("pro-goto", "google", pro_goto, "GoTo Meeting", goto_join_url),
]


@pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])
def test_each_mode_writes_the_meeting_and_sends_a_signed_conferencing_assigned(
    live: LiveWorld, mode: Mode
) -> None:
    conferencing = mode.arrange(live)
    calendar_id = live.google_calendar if mode.calendar == "google" else live.microsoft_calendar
    subscriptions = [
        {
            "type": "webhook",
            "uri": live.receiver.url(),
            "interactions": [{"type": "conferencing_assigned"}],
        }
    ]
    sdk = live.sdk()
    sdk.upsert_event(
        calendar_id,
        event_body("standup", START, conferencing=conferencing, subscriptions=subscriptions),
    )

    (delivery,) = live.wait_for_webhooks(1)
    assert live.verifier().hmac_valid(
        delivery.headers["cronofy-hmac-sha256"], delivery.body.decode()
    )
    assert not live.verifier().hmac_valid("bm90IGl0", delivery.body.decode())
    event = json.loads(delivery.body)["event"]
    assert event["event_id"] == "standup" and event["calendar_id"] == calendar_id
    assert event["conferencing"]["provider_description"].startswith(mode.description)
    provider_event_id = live.managed("standup").provider_event_id
    assert provider_event_id is not None
    assert event["conferencing"]["join_url"] == mode.provider_join_url(live, provider_event_id)

    (read,) = [
        e
        for e in sdk.read_events(
            calendar_ids=(calendar_id,),
            from_date=START.date(),
            to_date=START.date() + dt.timedelta(days=1),
            only_managed=True,
        )
    ]
    assert read["conferencing"] == event["conferencing"]

    sdk.delete_event(calendar_id, "standup")
    wait_for(lambda: live.managed("standup").state == "deleted", 20, "the delete")
    assert live.zoom.meetings == {} and live.goto.meetings == {}
    if mode.calendar == "google":
        assert live.google.event(GOOGLE_CALENDAR, provider_event_id)["status"] == "cancelled"
    else:
        with pytest.raises(KeyError):
            live.graph.event(MICROSOFT_CALENDAR, provider_event_id)
    assert len(live.received()) == 1
