"""syncd branches on what conferencing adapters declare, never on their names.

A third-party adapter installed through the ``syncd.conferencing_providers`` entry points
that declares ``is_default_fallback``, ``takes_explicit_details`` or
``has_remote_meetings`` gets the treatment the built-in 8x8 and explicit adapters get.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from conferencing_providers.base import Conferencing, ConferencingProvider, MeetingRequest
from syncd.conferencing import capabilities
from syncd.conferencing.record import MeetingRecord
from syncd.registry import conferencing_providers
from tests.support.events_world import World, subscribed, world

__all__ = ["world"]  # the shared fixture, from tests/support/events_world.py


class AcmeRooms(ConferencingProvider):
    """A fallback whose rooms exist at the provider, so they are moved with the event."""

    name: ClassVar[str] = "acme_rooms"
    description: ClassVar[str] = "Acme"
    is_default_fallback: ClassVar[bool] = True
    has_remote_meetings: ClassVar[bool] = True
    created: ClassVar[list[MeetingRequest]] = []
    updated: ClassVar[list[tuple[str, str]]] = []

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        self.created.append(request)
        number = len(self.created)
        return Conferencing(
            provider_description=self.description,
            join_url=f"https://rooms.acme.test/{number}",
            provider_meeting_id=f"acme-{number}",
        )

    def update_meeting(self, meeting_id: str, request: MeetingRequest) -> None:
        self.updated.append((meeting_id, request.summary))


class BringYourOwn(ConferencingProvider):
    """Writes the caller's own join details, with its own rule for the URL."""

    name: ClassVar[str] = "bring_your_own"
    description: ClassVar[str] = "BYO"
    takes_explicit_details: ClassVar[bool] = True

    @classmethod
    def validate_join_url(cls, url: str) -> str | None:
        return None if url.startswith("https://byo.test/") else "join_url must be on byo.test"

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        assert request.join_url is not None
        return Conferencing(
            provider_description=f"{request.provider_description} via BYO",
            join_url=request.join_url,
        )


@pytest.fixture
def third_party(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed adapters: the third-party ones instead of 8x8 and explicit."""
    installed = {
        name: adapter
        for name, adapter in conferencing_providers().items()
        if not (adapter.is_default_fallback or adapter.takes_explicit_details)
    } | {AcmeRooms.name: AcmeRooms, BringYourOwn.name: BringYourOwn}
    monkeypatch.setattr(capabilities, "conferencing_providers", lambda: installed)
    AcmeRooms.created.clear()
    AcmeRooms.updated.clear()


def test_the_shipped_adapters_declare_the_capabilities_syncd_relies_on() -> None:
    installed = conferencing_providers()
    assert installed["eight_by_eight"].is_default_fallback
    assert installed["explicit"].takes_explicit_details
    assert installed["zoom"].has_remote_meetings and installed["goto"].has_remote_meetings
    assert capabilities.default_fallback_adapter() == "eight_by_eight"
    assert capabilities.explicit_details_adapter() == "explicit"


def _assigned(world: World) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in world.outbox("conferencing_assigned")]


@pytest.mark.usefixtures("third_party")
def test_a_third_party_default_fallback_serves_default_and_its_meeting_is_moved(
    world: World,
) -> None:
    world.upsert(world.google, conferencing={"profile_id": "default"}, subscriptions=subscribed())
    world.work()

    (body,) = _assigned(world)
    assert body["event"]["conferencing"] == {
        "provider_description": "Acme",
        "join_url": "https://rooms.acme.test/1",
    }
    record = MeetingRecord.from_json(world.managed("board-meeting").conferencing)
    assert record is not None
    assert (record.key, record.adapter, record.remote) == ("acme_rooms", "acme_rooms", True)
    assert "https://rooms.acme.test/1" in world.google_event("board-meeting")["description"]

    world.upsert(
        world.google,
        summary="Board meeting (moved)",
        conferencing={"profile_id": "default"},
        subscriptions=subscribed(),
    )
    world.work()
    assert AcmeRooms.updated == [("acme-1", "Board meeting (moved)")]
    assert len(AcmeRooms.created) == 1  # moved, not made again


@pytest.mark.usefixtures("third_party")
def test_a_third_party_explicit_adapter_validates_and_writes_the_callers_details(
    world: World,
) -> None:
    refused = world.upsert(
        world.google,
        conferencing={
            "profile_id": "explicit",
            "provider_description": "Call",
            "join_url": "https://elsewhere.test/x",
        },
    )
    assert refused.status_code == 422
    assert refused.json()["errors"]["conferencing.join_url"] == [
        {"key": "errors.invalid", "description": "join_url must be on byo.test"}
    ]

    accepted = world.upsert(
        world.google,
        conferencing={
            "profile_id": "explicit",
            "provider_description": "Call",
            "join_url": "https://byo.test/room",
        },
        subscriptions=subscribed(),
    )
    assert accepted.status_code == 202
    world.work()
    (body,) = _assigned(world)
    assert body["event"]["conferencing"] == {
        "provider_description": "Call via BYO",
        "join_url": "https://byo.test/room",
    }
