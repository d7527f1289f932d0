"""Zoom and GoTo adapters against their emulators: meetings, tags, rotating tokens, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterator

import pytest

from conferencing_providers.base import MeetingRequest
from conferencing_providers.eight_by_eight import EightByEightProvider
from conferencing_providers.goto import GoToProvider
from conferencing_providers.zoom import ZoomProvider
from providers.base import AuthRevoked, OAuthClient, ProviderEndpoints, RateLimited, TransientError
from tests.emulators.goto import GoToEmulator
from tests.emulators.zoom import Fault, OAuthEmulator, ZoomEmulator

START = dt.datetime(2030, 5, 6, 9, tzinfo=dt.UTC)
REQUEST = MeetingRequest(
    tag="syncd:cal_1:board:1", summary="Board", start=START, end=START + dt.timedelta(hours=1)
)


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulators speak plain HTTP on 127.0.0.1 (tests only)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def zoom() -> Iterator[ZoomEmulator]:
    with ZoomEmulator() as emulator:
        yield emulator  # type: ignore[misc]


@pytest.fixture
def goto() -> Iterator[GoToEmulator]:
    with GoToEmulator() as emulator:
        yield emulator  # type: ignore[misc]


def endpoints(emulator: OAuthEmulator, api_base_url: str) -> ProviderEndpoints:
    return ProviderEndpoints(api_base_url, emulator.token_url, emulator.authorize_url)


def client(emulator: OAuthEmulator) -> OAuthClient:
    return OAuthClient(emulator.client_id, emulator.client_secret)


def zoom_adapter(zoom: ZoomEmulator, credentials: dict | None = None) -> ZoomProvider:
    return ZoomProvider(
        credentials or zoom.issue_grant(), endpoints(zoom, zoom.api_base_url), client(zoom), 5.0
    )


def test_eight_by_eight_rooms_are_unguessable() -> None:
    requests = [dataclasses.replace(REQUEST, secret=secrets.token_urlsafe(32)) for _ in range(50)]
    rooms = [EightByEightProvider().create_meeting(request).join_url for request in requests]
    assert len(set(rooms)) == 50
    assert all(url.startswith("https://8x8.vc/") and len(url) > 35 for url in rooms)
    assert not any(r.secret[:8] in room for r, room in zip(requests, rooms, strict=True))


def test_eight_by_eight_makes_the_same_room_for_the_same_secret() -> None:
    request = dataclasses.replace(REQUEST, secret=secrets.token_urlsafe(32))
    first = EightByEightProvider().create_meeting(request)
    again = EightByEightProvider().create_meeting(dataclasses.replace(request, summary="Moved"))
    assert again.join_url == first.join_url


def test_eight_by_eight_without_a_secret_makes_a_new_room_each_time() -> None:
    rooms = {EightByEightProvider().create_meeting(REQUEST).join_url for _ in range(20)}
    assert len(rooms) == 20


def test_zoom_meeting_is_created_tagged_moved_and_deleted(zoom: ZoomEmulator) -> None:
    adapter = zoom_adapter(zoom)
    created = adapter.create_meeting(REQUEST)
    meeting = zoom.meetings[int(created.provider_meeting_id or 0)]
    assert created.join_url == meeting["join_url"]
    assert created.password == meeting["password"]
    assert meeting["agenda"] == REQUEST.tag and meeting["duration"] == 60

    assert adapter.find_meeting(REQUEST.tag) == created
    assert adapter.find_meeting("syncd:other") is None

    moved = MeetingRequest(REQUEST.tag, "Board", START, START + dt.timedelta(minutes=30))
    adapter.update_meeting(str(created.provider_meeting_id), moved)
    assert meeting["duration"] == 30

    adapter.delete_meeting(str(created.provider_meeting_id))
    adapter.delete_meeting(str(created.provider_meeting_id))  # already gone: fine
    assert zoom.meetings == {}


def test_zoom_code_124_refreshes_and_the_rotated_token_is_reported(zoom: ZoomEmulator) -> None:
    grant = zoom.issue_grant()
    adapter = zoom_adapter(zoom, grant)
    zoom.expire_access_tokens()

    adapter.create_meeting(REQUEST)

    refreshed = adapter.refreshed_credentials()
    assert refreshed is not None
    assert refreshed["refresh_token"] != grant["refresh_token"]
    assert refreshed["refresh_token"] in zoom.refresh_tokens
    assert grant["refresh_token"] not in zoom.refresh_tokens  # rotated away
    assert adapter.refreshed_credentials() is None  # reported once


def test_a_revoked_zoom_grant_is_auth_revoked(zoom: ZoomEmulator) -> None:
    adapter = zoom_adapter(zoom)
    zoom.revoke()
    with pytest.raises(AuthRevoked):
        adapter.create_meeting(REQUEST)


def test_zoom_daily_limit_waits_until_the_next_day(zoom: ZoomEmulator) -> None:
    zoom.daily_create_limit = 1
    adapter = zoom_adapter(zoom)
    adapter.create_meeting(REQUEST)
    with pytest.raises(RateLimited) as raised:
        adapter.create_meeting(REQUEST)
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


def test_zoom_server_errors_are_transient(zoom: ZoomEmulator) -> None:

    zoom.inject("/v2/users/me/meetings", Fault(503, {"code": 503, "message": "busy"}))
    with pytest.raises(TransientError):
        zoom_adapter(zoom).create_meeting(REQUEST)


def test_goto_create_reads_the_array_and_finds_by_tag(goto: GoToEmulator) -> None:
    adapter = GoToProvider(
        goto.issue_grant(), endpoints(goto, goto.api_base_url), client(goto), 5.0
    )
    created = adapter.create_meeting(REQUEST)
    assert created.join_url == f"https://global.gotomeeting.com/join/{created.provider_meeting_id}"
    stored = goto.meetings[int(created.provider_meeting_id or 0)]
    assert stored["subject"].startswith("Board #")
    assert stored["starttime"] == "2030-05-06T09:00:00Z"

    found = adapter.find_meeting(REQUEST.tag)
    assert found is not None and found.provider_meeting_id == created.provider_meeting_id

    adapter.update_meeting(str(created.provider_meeting_id), REQUEST)
    adapter.delete_meeting(str(created.provider_meeting_id))
    assert goto.meetings == {}


def test_goto_expired_token_refreshes_with_rotation(goto: GoToEmulator) -> None:
    grant = goto.issue_grant()
    adapter = GoToProvider(grant, endpoints(goto, goto.api_base_url), client(goto), 5.0)
    goto.expire_access_tokens()
    adapter.create_meeting(REQUEST)
    refreshed = adapter.refreshed_credentials()
    assert refreshed is not None and refreshed["refresh_token"] != grant["refresh_token"]
