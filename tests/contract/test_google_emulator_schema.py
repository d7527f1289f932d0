"""The emulator speaks Google's published schema, not the adapter's expectations.

Every response shape the adapter consumes is checked against the Calendar v3 discovery
document shipped inside google-api-python-client.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import googleapiclient
import pytest
import requests

from tests.emulators.google import Fault, GoogleCalendarEmulator

DISCOVERY_DOCUMENT = (
    Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
)
CALENDAR = "alice@example.com"


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return json.loads(DISCOVERY_DOCUMENT.read_text())["schemas"]


Checker = Callable[[Any, dict[str, Any], dict[str, Any], str], list[str]]


def schema_violations(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str = "$"
) -> list[str]:
    """Every place ``value`` breaks a discovery-format schema (types, $ref, property names)."""
    if "$ref" in schema:
        return schema_violations(value, schemas[schema["$ref"]], schemas, where)
    check = _CHECKERS.get(schema.get("type", "any"))
    return [] if check is None else check(value, schema, schemas, where)


def _object_violations(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected object, got {type(value).__name__}"]
    properties = schema.get("properties", {})
    additional = schema.get("additionalProperties")
    problems: list[str] = []
    for name, item in value.items():
        item_schema = properties.get(name, additional)
        if item_schema is None:
            problems.append(f"{where}: unknown property {name!r}")
        else:
            problems += schema_violations(item, item_schema, schemas, f"{where}.{name}")
    return problems


def _array_violations(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str
) -> list[str]:
    if not isinstance(value, list):
        return [f"{where}: expected array, got {type(value).__name__}"]
    problems: list[str] = []
    for index, item in enumerate(value):
        problems += schema_violations(item, schema.get("items", {}), schemas, f"{where}[{index}]")
    return problems


def _string_violations(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str
) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: expected string, got {type(value).__name__}"]
    problems = _format_violations(value, schema.get("format"), where)
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    return problems


def _scalar_checker(expected: str, accepts: Callable[[Any], bool]) -> Checker:
    """A checker for a JSON scalar type (booleans are not numbers here)."""

    def check(value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str) -> list[str]:
        if accepts(value):
            return []
        return [f"{where}: expected {expected}, got {type(value).__name__}"]

    return check


_CHECKERS: dict[str, Checker] = {
    "object": _object_violations,
    "array": _array_violations,
    "string": _string_violations,
    "boolean": _scalar_checker("boolean", lambda v: isinstance(v, bool)),
    "integer": _scalar_checker("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "number": _scalar_checker(
        "number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    ),
}


def _format_violations(value: str, fmt: str | None, where: str) -> list[str]:
    try:
        if fmt == "date-time":
            dt.datetime.fromisoformat(value)
        elif fmt == "date":
            dt.date.fromisoformat(value)
        elif fmt in ("int64", "uint64"):
            int(value)
    except ValueError:
        return [f"{where}: {value!r} is not a valid {fmt}"]
    return []


def assert_conforms(value: Any, schema_name: str, schemas: dict[str, Any]) -> None:
    problems = schema_violations(value, schemas[schema_name], schemas)
    assert not problems, "\n".join(problems)


@pytest.fixture
def seeded(google_emulator: GoogleCalendarEmulator) -> GoogleCalendarEmulator:
    """A calendar holding one of each kind of item the emulator produces."""
    emulator = google_emulator
    emulator.add_calendar(CALENDAR, primary=True, time_zone="Europe/Berlin")
    emulator.add_calendar("team@group.calendar.google.com", summary="Team", access_role="reader")
    emulator.put_event(
        CALENDAR,
        {
            "id": "single00001",
            "summary": "Planning",
            "start": {"dateTime": "2024-05-01T10:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2024-05-01T11:00:00+02:00", "timeZone": "Europe/Berlin"},
            "attendees": [
                {"email": CALENDAR, "self": True, "responseStatus": "declined"},
                {"email": "bob@example.com", "responseStatus": "accepted"},
            ],
            "transparency": "transparent",
        },
    )
    emulator.put_event(
        CALENDAR,
        {"id": "allday00001", "start": {"date": "2024-05-02"}, "end": {"date": "2024-05-03"}},
    )
    emulator.put_event(
        CALENDAR,
        {
            "id": "series00001",
            "summary": "Standup",
            "start": {"dateTime": "2024-05-06T09:00:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2024-05-06T09:15:00+02:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        },
    )
    emulator.override_instance(
        CALENDAR,
        "series00001",
        {"dateTime": "2024-05-07T09:00:00+02:00", "timeZone": "Europe/Berlin"},
        start={"dateTime": "2024-05-07T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2024-05-07T10:15:00+02:00", "timeZone": "Europe/Berlin"},
    )
    emulator.cancel_instance(
        CALENDAR,
        "series00001",
        {"dateTime": "2024-05-08T09:00:00+02:00", "timeZone": "Europe/Berlin"},
    )
    return emulator


def api_get(emulator: GoogleCalendarEmulator, path: str, **params: str) -> Any:
    token = emulator.issue_grant()["access_token"]
    response = requests.get(
        f"{emulator.base_url}calendar/v3/{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_calendar_list_conforms_to_calendar_list_schema(seeded, schemas) -> None:
    body = api_get(seeded, "users/me/calendarList")
    assert len(body["items"]) == 2
    assert_conforms(body, "CalendarList", schemas)


def test_calendar_list_entry_conforms_to_its_schema(seeded, schemas) -> None:
    assert_conforms(api_get(seeded, "users/me/calendarList/primary"), "CalendarListEntry", schemas)


def test_full_event_listing_conforms_to_events_schema(seeded, schemas) -> None:
    body = api_get(seeded, f"calendars/{CALENDAR}/events", showDeleted="true", maxResults="2")
    assert body["nextPageToken"]
    assert_conforms(body, "Events", schemas)


def test_incremental_listing_with_tombstones_conforms_to_events_schema(seeded, schemas) -> None:
    first = api_get(seeded, f"calendars/{CALENDAR}/events", showDeleted="true")
    seeded.delete_event(CALENDAR, "allday00001")
    body = api_get(seeded, f"calendars/{CALENDAR}/events", syncToken=first["nextSyncToken"])
    assert [item["status"] for item in body["items"]] == ["cancelled"]
    assert_conforms(body, "Events", schemas)


def test_single_event_with_meet_conference_conforms_to_event_schema(seeded, schemas) -> None:
    token = seeded.issue_grant()["access_token"]
    response = requests.patch(
        f"{seeded.base_url}calendar/v3/calendars/{CALENDAR}/events/single00001",
        params={"conferenceDataVersion": "1"},
        json={
            "conferenceData": {
                "createRequest": {
                    "requestId": "req-1",
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            }
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json()["conferenceData"]["entryPoints"][0]["entryPointType"] == "video"
    assert_conforms(response.json(), "Event", schemas)


def test_checker_rejects_unknown_properties_and_wrong_types(schemas) -> None:
    problems = schema_violations(
        {"id": 7, "start": {"date": "not-a-date"}, "novelField": True}, schemas["Event"], schemas
    )
    assert problems == [
        "$.id: expected string, got int",
        "$.start.date: 'not-a-date' is not a valid date",
        "$: unknown property 'novelField'",
    ]


def test_injected_error_body_follows_google_error_shape(google_emulator) -> None:
    google_emulator.add_calendar(CALENDAR, primary=True)
    google_emulator.inject(Fault.rate_limited(retry_after=1))
    token = google_emulator.issue_grant()["access_token"]
    response = requests.get(
        f"{google_emulator.base_url}calendar/v3/users/me/calendarList",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
