"""Issue 15, defect 6: Google's bare cancelled instances and incremental request parameters.

Real shapes relied on (never the adapter's expectations):

* ``Event.status`` in the discovery document shipped with google-api-python-client
  (``googleapiclient/discovery_cache/documents/calendar.v3.json``): cancelled exceptions
  are "only guaranteed" to carry ``id``, ``recurringEventId`` and ``originalStartTime``,
  deleted events only ``id``;
* real incremental syncs report a deleted recurring instance as ``{id, status:
  "cancelled"}`` alone, its id ``<master>_<YYYYMMDDTHHMMSSZ>`` (KeepSoftwareSimple/
  compass-calendar PR #2808, "hide Google-deleted recurring instances"; t4t5/caldir #54);
  the emulator serves that shape by default on incremental listings;
* ``events.list`` ``syncToken`` in the same discovery document: "All other query
  parameters should be the same as for the initial synchronization to avoid undefined
  behavior."
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from providers.base import ChangePage, RemoteCalendar, RemoteEvent
from providers.google import GoogleProvider
from providers.google.mapping import event_from_google, instance_of, is_deletion
from tests.emulators.google import GoogleCalendarEmulator

CALENDAR_ID = "alice@example.com"
BERLIN = "Europe/Berlin"


def timed(start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {
        "start": {"dateTime": start, "timeZone": BERLIN},
        "end": {"dateTime": end, "timeZone": BERLIN},
        **fields,
    }


@pytest.fixture
def emulator(google_emulator: GoogleCalendarEmulator) -> GoogleCalendarEmulator:
    google_emulator.add_calendar(CALENDAR_ID, primary=True, time_zone=BERLIN, summary="Alice")
    google_emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-06T09:00:00+02:00",
            "2024-05-06T09:15:00+02:00",
            id="series00001",
            summary="Stand-up",
            recurrence=["RRULE:FREQ=DAILY;COUNT=5"],
        ),
    )
    return google_emulator


@pytest.fixture
def provider(emulator: GoogleCalendarEmulator, google_provider_factory: Any) -> GoogleProvider:
    provider: GoogleProvider = google_provider_factory()
    return provider


@pytest.fixture
def calendar(provider: GoogleProvider) -> RemoteCalendar:
    (primary,) = [c for c in provider.list_calendars() if c.primary]
    return primary


def last_cursor(pages: list[ChangePage]) -> str | None:
    return pages[-1].cursor


def upserts(pages: list[ChangePage]) -> list[RemoteEvent]:
    return [event for page in pages for event in page.upserts]


def test_the_emulator_serves_a_deleted_instance_bare_on_incremental_syncs(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.override_instance(
        CALENDAR_ID,
        "series00001",
        {"dateTime": "2024-05-07T09:00:00+02:00", "timeZone": BERLIN},
        summary="Moved stand-up",
    )
    cursor = last_cursor(list(provider.sync_events(calendar, None)))
    emulator.delete_event(CALENDAR_ID, "series00001_20240507T070000Z")

    response = provider._execute(
        provider.service.events().list(
            calendarId=CALENDAR_ID, syncToken=_sync_token(cursor),
            singleEvents=False, showDeleted=True,
        )
    )  # fmt: skip

    assert response["items"] == [
        {
            "kind": "calendar#event",
            "etag": response["items"][0]["etag"],
            "id": "series00001_20240507T070000Z",
            "status": "cancelled",
        }
    ]


def test_a_deleted_exception_becomes_a_cancelled_instance_not_a_deletion(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    """Deleting the stored exception would bring the master's instance back as busy."""
    emulator.override_instance(
        CALENDAR_ID,
        "series00001",
        {"dateTime": "2024-05-07T09:00:00+02:00", "timeZone": BERLIN},
        start={"dateTime": "2024-05-07T14:00:00+02:00", "timeZone": BERLIN},
        end={"dateTime": "2024-05-07T14:15:00+02:00", "timeZone": BERLIN},
    )
    cursor = last_cursor(list(provider.sync_events(calendar, None)))
    emulator.delete_event(CALENDAR_ID, "series00001_20240507T070000Z")

    pages = list(provider.sync_events(calendar, cursor))

    assert [d for page in pages for d in page.deletions] == []
    (instance,) = upserts(pages)
    assert instance.provider_event_id == "series00001_20240507T070000Z"
    assert instance.status == "cancelled"
    assert instance.recurring_event_id == "series00001"
    assert instance.original_start == dt.datetime(2024, 5, 7, 7, 0, tzinfo=dt.UTC)


def test_a_bare_cancelled_occurrence_cancels_that_instance(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    cursor = last_cursor(list(provider.sync_events(calendar, None)))
    emulator.cancel_instance(
        CALENDAR_ID, "series00001", {"dateTime": "2024-05-09T09:00:00+02:00", "timeZone": BERLIN}
    )

    pages = list(provider.sync_events(calendar, cursor))

    (instance,) = upserts(pages)
    assert instance.status == "cancelled"
    assert instance.recurring_event_id == "series00001"
    assert instance.original_start == dt.datetime(2024, 5, 9, 7, 0, tzinfo=dt.UTC)


def test_incremental_requests_repeat_the_full_syncs_parameters(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    provider.page_size = 1
    emulator.put_event(
        CALENDAR_ID, timed("2024-05-01T10:00:00+02:00", "2024-05-01T11:00:00+02:00", id="one01")
    )
    cursor = last_cursor(list(provider.sync_events(calendar, None)))
    for event_id in ("two02", "three03"):
        emulator.put_event(
            CALENDAR_ID,
            timed("2024-05-02T10:00:00+02:00", "2024-05-02T11:00:00+02:00", id=event_id),
        )
    list(provider.sync_events(calendar, cursor))

    listings = emulator.requests_to(f"/calendars/{CALENDAR_ID}/events")
    incremental = [r for r in listings if "syncToken" in r.query or "pageToken" in r.query]
    assert len(incremental) >= 3  # the incremental pages, and the full sync's later pages
    full_first = listings[0].query
    for request in listings:
        assert request.query.get("singleEvents") == full_first["singleEvents"] == ["false"]
        assert request.query.get("showDeleted") == full_first["showDeleted"] == ["true"]


def test_bare_ids_are_read_as_master_and_instant() -> None:
    assert instance_of("abc123def_20240507T070000Z") == (
        "abc123def",
        dt.datetime(2024, 5, 7, 7, 0, tzinfo=dt.UTC),
    )
    assert instance_of("abc123def_20240507") == ("abc123def", dt.date(2024, 5, 7))
    assert instance_of("abc123def") is None
    assert instance_of("abc123def_20241399") is None


def test_a_bare_all_day_instance_keeps_its_date_and_a_bare_event_is_still_deleted() -> None:
    bare = {"kind": "calendar#event", "id": "holiday0001_20240507", "status": "cancelled"}
    assert not is_deletion(bare)
    event = event_from_google(bare, BERLIN)
    assert (event.recurring_event_id, event.original_start) == ("holiday0001", dt.date(2024, 5, 7))
    assert event.all_day and event.status == "cancelled"
    assert is_deletion({"id": "standalone01", "status": "cancelled"})


def _sync_token(cursor: str | None) -> str:
    assert cursor is not None
    return str(json.loads(cursor)["sync_token"])
