"""Every conferencing mode end to end: API upsert → daemon job → provider emulator with the
join details → ``conferencing_assigned`` queued; failures still write the event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from syncd.conferencing import meeting as meeting_step
from syncd.config import OAuthProviderSettings
from syncd.store.db import session_scope
from syncd.store.managed import create_conferencing_profile
from syncd.store.models import ConferencingProfile, ManagedEvent, Profile, utcnow
from syncd.store.tenants import find_account
from tests.emulators.goto import GoToEmulator
from tests.emulators.zoom import Fault, ZoomEmulator
from tests.support.events_world import (
    GOOGLE_CALENDAR,
    World,
    at,
    set_default_conferencing,
    subscribed,
    world,
)

__all__ = ["world"]  # the shared fixture, from tests/support/events_world.py


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def zoom(world: World) -> Iterator[ZoomEmulator]:
    with ZoomEmulator() as emulator, GoToEmulator() as goto:
        world.settings = world.settings.model_copy(
            update={
                "zoom": _oauth(emulator, emulator.api_base_url),  # type: ignore[arg-type]
                "goto": _oauth(goto, goto.api_base_url),  # type: ignore[arg-type]
            }
        )
        emulator.goto = goto  # type: ignore[attr-defined]
        yield emulator  # type: ignore[misc]


def _oauth(emulator: Any, api_base_url: str) -> OAuthProviderSettings:
    return OAuthProviderSettings(
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        api_base_url=api_base_url,
        token_url=emulator.token_url,
        authorize_url=emulator.authorize_url,
    )


def connect(world: World, provider: str, credentials: dict[str, Any]) -> str:
    with session_scope(world.engine) as session:
        account = find_account(session, world.account_id)
        return create_conferencing_profile(
            session, world.box, account, provider, f"alice@{provider}", credentials
        ).id


def assigned_bodies(world: World) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in world.outbox("conferencing_assigned")]


def test_default_is_an_8x8_room_written_into_the_google_event(world: World) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    world.work()

    (body,) = assigned_bodies(world)
    join_url = body["event"]["conferencing"]["join_url"]
    assert join_url.startswith("https://8x8.vc/")
    assert body["event"]["conferencing"]["provider_description"] == "8x8"
    event = world.google_event("board-meeting")
    assert join_url in event["description"] and event["location"] == join_url


def test_default_uses_the_accounts_chosen_service(world: World, zoom: ZoomEmulator) -> None:
    profile_id = connect(world, "zoom", zoom.issue_grant())
    set_default_conferencing(world, profile_id)
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    world.work()

    (meeting,) = zoom.meetings.values()
    assert assigned_bodies(world)[0]["event"]["conferencing"]["join_url"] == meeting["join_url"]


def test_explicit_details_are_stored_and_written_as_given(world: World) -> None:
    details = {
        "profile_id": "explicit",
        "provider_description": "Videotech virtual meeting",
        "join_url": "https://videotech.com/join-call/xyz",
    }
    world.upsert(world.google, conferencing=details, subscriptions=subscribed())
    world.work()

    (body,) = assigned_bodies(world)
    assert body["event"]["conferencing"] == {
        "provider_description": "Videotech virtual meeting",
        "join_url": "https://videotech.com/join-call/xyz",
    }
    assert "https://videotech.com/join-call/xyz" in world.google_event("board-meeting")["location"]


def test_integrated_on_google_is_a_meet_conference_polled_while_pending(world: World) -> None:
    world.emulator.conference_create_status = "pending"
    world.upsert(
        world.google, conferencing={"profile_id": "integrated"}, subscriptions=subscribed()
    )
    world.work()
    assert world.outbox("conferencing_assigned") == []
    assert world.managed("board-meeting").conferencing_state == "pending"

    world.emulator.complete_pending_conferences(GOOGLE_CALENDAR)
    with session_scope(world.engine) as session:  # the poll is due in a second; make it now
        row = session.get(type(world.managed("board-meeting")), world.managed("board-meeting").id)
        row.next_attempt_at = row.updated_at  # type: ignore[union-attr]
        session.add(row)
    world.work()

    (body,) = assigned_bodies(world)
    event = world.google_event("board-meeting")
    video = [p for p in event["conferenceData"]["entryPoints"] if p["entryPointType"] == "video"]
    assert body["event"]["conferencing"]["join_url"] == video[0]["uri"]
    assert body["event"]["conferencing"]["provider_description"] == "Google Meet"


def test_a_zoom_profile_makes_one_meeting_moves_it_and_deletes_it(
    world: World, zoom: ZoomEmulator
) -> None:
    profile_id = connect(world, "zoom", zoom.issue_grant())
    world.upsert(world.google, conferencing={"profile_id": profile_id}, subscriptions=subscribed())
    world.work()
    (meeting,) = zoom.meetings.values()
    event = world.google_event("board-meeting")
    assert meeting["join_url"] in event["description"]
    assert f"Password: {meeting['password']}" in event["description"]

    world.upsert(
        world.google,
        conferencing={"profile_id": profile_id},
        subscriptions=subscribed(),
        start=at(1, 9),
        end=at(1, 9, 45),
    )
    world.work()
    assert list(zoom.meetings.values()) == [meeting]
    assert meeting["duration"] == 45 and meeting["start_time"] == at(1, 9)
    assert len(world.outbox("conferencing_assigned")) == 1  # same join details: no repeat

    world.delete(world.google, event_id="board-meeting")
    world.work()
    assert zoom.meetings == {}


def test_goto_meeting_is_written_with_its_join_url(world: World, zoom: ZoomEmulator) -> None:
    goto: GoToEmulator = zoom.goto  # type: ignore[attr-defined]
    profile_id = connect(world, "goto", goto.issue_grant())
    world.upsert(world.caldav, conferencing={"profile_id": profile_id}, subscriptions=subscribed())
    world.work()
    (meeting_id,) = goto.meetings
    (body,) = assigned_bodies(world)
    assert body["event"]["conferencing"] == {
        "provider_description": "GoTo Meeting",
        "join_url": f"https://global.gotomeeting.com/join/{meeting_id}",
    }


def test_a_meeting_created_before_a_crash_is_found_and_reused(
    world: World, zoom: ZoomEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = connect(world, "zoom", zoom.issue_grant())
    world.upsert(world.google, conferencing={"profile_id": profile_id}, subscriptions=subscribed())
    worker = world.worker()

    def die(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("killed between Zoom's 201 and our commit")

    with monkeypatch.context() as patched:
        patched.setattr(meeting_step, "store_meeting", die)
        (row_id,) = worker.claim(10)
        with pytest.raises(SystemExit):
            worker.process(row_id)
    assert len(zoom.meetings) == 1

    with session_scope(world.engine) as session:  # the dead worker's lease runs out
        row = session.get(type(world.managed("board-meeting")), row_id)
        row.lease_expires_at = row.next_attempt_at  # type: ignore[union-attr]
        session.add(row)
    world.work()

    assert len(zoom.meetings) == 1
    assert len(world.outbox("conferencing_assigned")) == 1
    (meeting,) = zoom.meetings.values()
    assert meeting["join_url"] in world.google_event("board-meeting")["description"]


def test_a_revoked_grant_disconnects_only_that_profile_and_the_event_is_still_written(
    world: World, zoom: ZoomEmulator
) -> None:
    profile_id = connect(world, "zoom", zoom.issue_grant())
    zoom.revoke()
    world.upsert(world.google, conferencing={"profile_id": profile_id}, subscriptions=subscribed())
    world.work()

    (failing,) = world.outbox("conferencing_failing")
    assert json.loads(failing.body)["event"]["event_id"] == "board-meeting"
    assert "conferencing" not in json.loads(failing.body)["event"]
    assert world.outbox("conferencing_assigned") == []
    assert world.google_event("board-meeting")["summary"] == "Board meeting"
    with session_scope(world.engine) as session:
        assert session.get(ConferencingProfile, profile_id).status == "disconnected"  # type: ignore[union-attr]
        assert {p.sync_status for p in session.query(Profile)} == {"active"}


def test_transient_zoom_failures_are_retried_then_fail_for_good(
    world: World, zoom: ZoomEmulator
) -> None:
    profile_id = connect(world, "zoom", zoom.issue_grant())
    zoom.inject("/v2/users/me/meetings", Fault(503, {"message": "busy"}), times=1)
    world.upsert(world.google, conferencing={"profile_id": profile_id}, subscriptions=subscribed())
    world.work()
    assert world.managed("board-meeting").state == "pending_write"  # retried later

    _make_due(world)
    world.work()
    assert len(zoom.meetings) == 1
    assert len(world.outbox("conferencing_assigned")) == 1


def test_zoom_daily_limit_writes_the_event_without_conferencing(
    world: World, zoom: ZoomEmulator
) -> None:
    zoom.daily_create_limit = 0
    profile_id = connect(world, "zoom", zoom.issue_grant())
    world.upsert(world.google, conferencing={"profile_id": profile_id}, subscriptions=subscribed())
    world.work()
    assert world.managed("board-meeting").state == "written"
    assert world.managed("board-meeting").conferencing_state == "failing"
    assert len(world.outbox("conferencing_failing")) == 1


def test_rotated_refresh_tokens_are_persisted(world: World, zoom: ZoomEmulator) -> None:
    grant = zoom.issue_grant()
    profile_id = connect(world, "zoom", grant)
    zoom.expire_access_tokens()
    world.upsert(world.google, conferencing={"profile_id": profile_id})
    world.work()
    with session_scope(world.engine) as session:
        stored = world.box.decrypt(
            session.get(ConferencingProfile, profile_id).credentials_encrypted  # type: ignore[union-attr]
        )
    assert stored["refresh_token"] != grant["refresh_token"]
    assert stored["refresh_token"] in zoom.refresh_tokens


def _make_due(world: World) -> None:

    with session_scope(world.engine) as session:
        session.execute(update(ManagedEvent).values(next_attempt_at=utcnow()))
