"""Page tokens: forged ones are a 4xx in Cronofy's shape (never a 500), and pages are
keyset-paged, so rows added between two page reads neither repeat nor shift a page."""

from __future__ import annotations

import datetime as dt
import json
from base64 import urlsafe_b64encode
from typing import Any

import pytest
from fastapi.testclient import TestClient

from syncd.api.paging import encode_page_token, token_keys
from tests.support.api import ApiAccount, ApiWorld

FREE_BUSY = "/v1/free_busy/pages/"
EVENTS = "/v1/events/pages/"


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2030, 1, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def alice(api_world: ApiWorld) -> ApiAccount:
    account = api_world.account(api_world.application("acme"), "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work")
    return account


def _free_busy_state(alice: ApiAccount, **changes: Any) -> dict[str, Any]:
    return {
        "start": "2030-01-01T00:00:00+00:00",
        "end": "2030-02-01T00:00:00+00:00",
        "tzid": "Etc/UTC",
        "calendar_ids": None,
        "localized_times": False,
        "page": 2,
    } | changes


def _events_state(**changes: Any) -> dict[str, Any]:
    return {
        "start": "2030-01-01T00:00:00+00:00",
        "end": "2030-02-01T00:00:00+00:00",
        "tzid": "Etc/UTC",
        "calendar_ids": None,
        "include_managed": False,
        "only_managed": False,
        "include_deleted": False,
        "last_modified": None,
        "page": 2,
    } | changes


def _unsigned(state: dict[str, Any]) -> str:
    """The token format before signing: base64 JSON, which anyone could write."""
    return urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _signed(client: TestClient, state: dict[str, Any]) -> str:
    return encode_page_token(state, token_keys(client.app.state.settings))  # type: ignore[attr-defined]


def _assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("path", [FREE_BUSY, EVENTS])
def test_an_unsigned_token_with_a_huge_page_number_is_404_not_500(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount, path: str
) -> None:
    api_world.event(alice.calendar_ids[0], at(8, 9), at(8, 10))
    state = _free_busy_state(alice) if path == FREE_BUSY else _events_state()
    state["page"] = 10**30
    _assert_not_found(api_client.get(path + _unsigned(state), headers=alice.auth()))


@pytest.mark.parametrize("token", ["é.é", "x" * 20_000, ".", "abc.def", "%00"])
@pytest.mark.parametrize("path", [FREE_BUSY, EVENTS])
def test_junk_tokens_are_404(
    api_client: TestClient, alice: ApiAccount, path: str, token: str
) -> None:
    _assert_not_found(api_client.get(path + token, headers=alice.auth()))


@pytest.mark.parametrize("path", [FREE_BUSY, EVENTS])
def test_a_token_signed_with_another_key_is_404(
    api_client: TestClient, alice: ApiAccount, path: str
) -> None:
    state = _free_busy_state(alice) if path == FREE_BUSY else _events_state()
    token = encode_page_token(state, [b"not our key" * 3])
    _assert_not_found(api_client.get(path + token, headers=alice.auth()))


@pytest.mark.parametrize(
    "changes",
    [
        {"page": 10**30},
        {"page": 0},
        {"page": True},
        {"start": "2030-01-01T00:00:00"},  # naive
        {"start": "9999-12-31T23:00:00-05:00"},  # overflows UTC
        {"end": "0001-01-01T00:00:00+00:00"},
        {"tzid": 5},
        {"calendar_ids": [1, 2]},
        {"localized_times": "yes"},
        {"after": ["2030-01-08T09:00:00+00:00", "2030-01-08T10:00:00+00:00", "c", 10**30]},
        {"after": ["2030-01-08T09:00:00", "2030-01-08T10:00:00+00:00", "c", 1]},
        {"after": "x"},
        {"unexpected": 1},
    ],
)
def test_signed_free_busy_tokens_with_forged_content_are_404(
    api_client: TestClient, alice: ApiAccount, changes: dict[str, Any]
) -> None:
    token = _signed(api_client, _free_busy_state(alice, **changes))
    _assert_not_found(api_client.get(FREE_BUSY + token, headers=alice.auth()))


@pytest.mark.parametrize(
    "changes",
    [
        {"page": 10**30},
        {"last_modified": "yesterday"},
        {"include_deleted": 1},
        {"after": {"phase": "live", "key": ["2030-01-08T09:00:00+00:00", "x", 1]}},
        {"after": {"phase": "live", "key": ["2030-01-08T09:00:00+00:00"] * 2 + [2**64]}},
        {"after": {"phase": "deleted", "key": [None, 1]}},
        {"after": {"phase": "elsewhere", "key": []}},
    ],
)
def test_signed_events_tokens_with_forged_content_are_404(
    api_client: TestClient, alice: ApiAccount, changes: dict[str, Any]
) -> None:
    token = _signed(api_client, _events_state(**changes))
    _assert_not_found(api_client.get(EVENTS + token, headers=alice.auth()))


def _free_busy(client: TestClient, alice: ApiAccount, url: str | None = None) -> Any:
    if url is None:
        params = {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-01-31"}
        return client.get("/v1/free_busy", headers=alice.auth(), params=params).json()
    return client.get(url, headers=alice.auth()).json()


def test_free_busy_pages_do_not_repeat_rows_added_before_the_cursor(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_client.app.state.free_busy_page_size = 2  # type: ignore[attr-defined]
    calendar = alice.calendar_ids[0]
    for day in (10, 11, 12, 13):
        api_world.event(calendar, at(day, 9), at(day, 10))
    first = _free_busy(api_client, alice)
    assert [b["start"][:10] for b in first["free_busy"]] == ["2030-01-10", "2030-01-11"]
    api_world.event(calendar, at(2, 9), at(2, 10))  # sorts before everything read so far
    second = _free_busy(api_client, alice, first["pages"]["next_page"])
    assert [b["start"][:10] for b in second["free_busy"]] == ["2030-01-12", "2030-01-13"]
    assert second["pages"]["current"] == 2 and "next_page" not in second["pages"]


def _events(client: TestClient, alice: ApiAccount, url: str | None = None) -> Any:
    if url is None:
        params = {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-01-31"}
        return client.get("/v1/events", headers=alice.auth(), params=params).json()
    return client.get(url, headers=alice.auth()).json()


def test_events_pages_do_not_repeat_rows_added_before_the_cursor(
    api_client: TestClient, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_client.app.state.events_page_size = 2  # type: ignore[attr-defined]
    calendar = alice.calendar_ids[0]
    for day in (10, 11, 12, 13, 14):
        api_world.event(calendar, at(day, 9), at(day, 10))
    first = _events(api_client, alice)
    seen = [e["start"][:10] for e in first["events"]]
    assert seen == ["2030-01-10", "2030-01-11"]
    api_world.event(calendar, at(2, 9), at(2, 10))
    url = first["pages"]["next_page"]
    while url:
        page = _events(api_client, alice, url)
        seen += [e["start"][:10] for e in page["events"]]
        url = page["pages"].get("next_page")
    assert seen == ["2030-01-10", "2030-01-11", "2030-01-12", "2030-01-13", "2030-01-14"]
