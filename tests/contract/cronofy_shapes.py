"""Response shapes from Cronofy's published fixtures and documentation, checked against
what syncd answers to both SDKs (tests/contract/test_api_sdk.py and test_api_sdk_js.py).

Sources: the read-events example of docs.cronofy.com/developers/api/events/read-events
(also cronofy-node's test/index.spec.js and pycronofy's tests/test_pagination.py), the
calendar list of pycronofy's tests/test_client.py, the channel and userinfo fixtures of
both SDKs, and the free/busy and error shapes of the API documentation. Each checker
asserts the keys Cronofy always sends, their types and documented values; keys Cronofy
sends only sometimes are checked when present.
"""

from __future__ import annotations

import re
from typing import Any

UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # whole seconds, as Cronofy
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
PARTICIPATION = {"needs_action", "accepted", "declined", "tentative", "unknown"}
EVENT_STATUS = {"tentative", "confirmed", "cancelled"}
TRANSPARENCY = {"opaque", "transparent", "unknown"}
FREE_BUSY_STATUS = {"tentative", "busy", "free", "unknown"}


def _types(value: dict[str, Any], expected: dict[str, type | tuple[type, ...]]) -> None:
    for key, kind in expected.items():
        assert key in value, f"{key!r} missing from {value}"
        assert isinstance(value[key], kind), f"{key!r} is {value[key]!r}, not {kind}"


def assert_pages(pages: dict[str, Any], base_url: str, kind: str) -> None:
    """``pages``: ``current``/``total`` always, ``next_page`` an absolute URL to us."""
    _types(pages, {"current": int, "total": int})
    assert 1 <= pages["current"] <= pages["total"]
    if pages.get("next_page"):
        assert pages["next_page"].startswith(f"{base_url}/v1/{kind}/pages/")


def _time(value: Any) -> None:
    if isinstance(value, dict):  # localized_times
        _types(value, {"time": str, "tzid": str})
        return
    assert isinstance(value, str) and (UTC_TIME.match(value) or DATE.match(value)), value


def assert_event(event: dict[str, Any]) -> None:
    """One event of ``GET /v1/events`` (live or deleted)."""
    _types(
        event,
        {
            "calendar_id": str,
            "summary": str,
            "description": str,
            "deleted": bool,
            "created": str,
            "updated": str,
            "participation_status": str,
            "attendees": list,
            "transparency": str,
            "status": str,
            "categories": list,
            "recurring": bool,
            "event_private": bool,
            "options": dict,
        },
    )
    assert "event_uid" in event or "event_id" in event
    for key in ("start", "end"):
        _time(event[key])
    assert UTC_TIME.match(event["created"]) and UTC_TIME.match(event["updated"])
    assert event["participation_status"] in PARTICIPATION
    assert event["status"] in EVENT_STATUS
    assert event["transparency"] in TRANSPARENCY
    _types(event["options"], {"delete": bool, "update": bool, "change_participation_status": bool})
    for attendee in event["attendees"]:
        _types(attendee, {"email": str, "display_name": str, "status": str})
        assert attendee["status"] in PARTICIPATION
    if "organizer" in event:
        _types(event["organizer"], {"email": str, "display_name": str})
    if "location" in event:
        _types(event["location"], {"description": str})
        for key in ("lat", "long"):  # include_geo; decimal strings (cronofy-csharp fixture)
            if key in event["location"]:
                float(event["location"][key])
                assert isinstance(event["location"][key], str)
    if event["recurring"]:
        assert isinstance(event["series_identifier"], str)
    else:
        assert "series_identifier" not in event
    if "event_uid" in event:
        assert event["event_uid"].startswith("evt_external_")


def assert_calendar(calendar: dict[str, Any]) -> None:
    _types(
        calendar,
        {
            "provider_name": str,
            "profile_id": str,
            "profile_name": str,
            "calendar_id": str,
            "calendar_name": str,
            "calendar_readonly": bool,
            "calendar_deleted": bool,
            "calendar_primary": bool,
            "permission_level": str,
        },
    )


def assert_profile(profile: dict[str, Any]) -> None:
    _types(
        profile,
        {
            "provider_name": str,
            "profile_id": str,
            "profile_name": str,
            "profile_connected": bool,
        },
    )


def assert_free_busy(block: dict[str, Any]) -> None:
    _types(block, {"calendar_id": str, "free_busy_status": str})
    _time(block["start"])
    _time(block["end"])
    assert block["free_busy_status"] in FREE_BUSY_STATUS


def assert_channel(channel: dict[str, Any]) -> None:
    _types(channel, {"channel_id": str, "callback_url": str, "filters": dict})
    assert channel["channel_id"].startswith("chn_")


def assert_userinfo(userinfo: dict[str, Any]) -> None:
    _types(userinfo, {"sub": str, "cronofy.type": str})
    if "cronofy.data" in userinfo:
        for profile in userinfo["cronofy.data"].get("profiles", []):
            _types(profile, {"provider_name": str, "profile_id": str, "profile_name": str})


def assert_field_errors(body: dict[str, Any], field: str) -> str:
    """Cronofy's 422: ``{"errors": {field: [{"key", "description"}]}}``; the first key."""
    _types(body, {"errors": dict})
    (first, *_) = body["errors"][field]
    _types(first, {"key": str, "description": str})
    assert first["key"].startswith("errors.")
    return str(first["key"])
