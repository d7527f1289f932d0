"""Scenarios for the Google Calendar adapter, run against the stateful emulator."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httplib2
import pytest
from googleapiclient.errors import HttpError

from providers.base import (
    AuthRevoked,
    ChangePage,
    CursorExpired,
    InvalidRemoteData,
    NotFound,
    OAuthClient,
    PermissionDenied,
    RateLimited,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)
from providers.google import GoogleProvider, provider_error
from tests.emulators.google import Fault, GoogleCalendarEmulator
from tests.support.google_emulator import (
    google_endpoints,
    google_oauth_client,
    make_google_provider,
)
from tests.support.paths import CASSETTES_DIR

CALENDAR_ID = "alice@example.com"
BERLIN = "Europe/Berlin"


def timed(start: str, end: str, zone: str = BERLIN, **fields: Any) -> dict[str, Any]:
    return {
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **fields,
    }


@pytest.fixture
def emulator(google_emulator: GoogleCalendarEmulator) -> GoogleCalendarEmulator:
    google_emulator.add_calendar(CALENDAR_ID, primary=True, time_zone=BERLIN, summary="Alice")
    return google_emulator


@pytest.fixture
def provider(emulator: GoogleCalendarEmulator, google_provider_factory) -> GoogleProvider:
    return google_provider_factory()


@pytest.fixture
def calendar(provider: GoogleProvider) -> RemoteCalendar:
    (primary,) = [c for c in provider.list_calendars() if c.primary]
    return primary


def full_sync(provider: GoogleProvider, calendar: RemoteCalendar) -> list[ChangePage]:
    return list(provider.sync_events(calendar, None))


def upserts_by_id(pages: list[ChangePage]) -> dict[str, RemoteEvent]:
    return {event.provider_event_id: event for page in pages for event in page.upserts}


def seed_events(emulator: GoogleCalendarEmulator, count: int) -> None:
    for index in range(count):
        emulator.put_event(
            CALENDAR_ID,
            timed("2024-05-01T10:00:00+02:00", "2024-05-01T11:00:00+02:00", id=f"ev{index:05d}"),
        )


# -- calendars ---------------------------------------------------------------


def test_calendar_list_maps_roles_primary_zone_and_meet_availability(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    emulator.add_calendar("team@group.calendar.google.com", summary="Team", access_role="reader")
    emulator.add_calendar(
        "busy@group.calendar.google.com", access_role="freeBusyReader", time_zone="Asia/Tokyo"
    )
    emulator.add_calendar(
        "shared@group.calendar.google.com", access_role="writer", conference_solution_types=()
    )

    calendars = {c.provider_calendar_id: c for c in provider.list_calendars()}

    assert calendars[CALENDAR_ID] == RemoteCalendar(
        provider_calendar_id=CALENDAR_ID,
        name="Alice",
        readonly=False,
        primary=True,
        integrated_conferencing_available=True,
        timezone=BERLIN,
    )
    assert calendars["team@group.calendar.google.com"].readonly
    assert calendars["busy@group.calendar.google.com"].readonly
    assert calendars["busy@group.calendar.google.com"].timezone == "Asia/Tokyo"
    assert not calendars["shared@group.calendar.google.com"].readonly
    assert not calendars["shared@group.calendar.google.com"].integrated_conferencing_available


def test_calendar_list_follows_pages(emulator: GoogleCalendarEmulator, provider) -> None:
    for index in range(260):
        emulator.add_calendar(f"cal{index:03d}@group.calendar.google.com")

    assert len(provider.list_calendars()) == 261
    assert len(emulator.requests_to("/calendarList")) == 2


def test_profile_name_is_the_primary_calendar_id(provider: GoogleProvider) -> None:
    assert provider.profile_name() == CALENDAR_ID


# -- full and incremental sync -----------------------------------------------


def test_full_sync_yields_one_page_per_google_page_with_resumable_cursors(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 5)
    provider.page_size = 2

    pages = full_sync(provider, calendar)

    assert [len(page.upserts) for page in pages] == [2, 2, 1]
    assert all(page.full_sync for page in pages)
    assert [page.complete for page in pages] == [False, False, True]
    assert json.loads(pages[0].cursor)["full"] is True
    assert "page_token" in json.loads(pages[0].cursor)
    assert "sync_token" in json.loads(pages[-1].cursor)
    full_listings = emulator.requests_to(f"/calendars/{CALENDAR_ID}/events")
    assert all(r.query["showDeleted"] == ["true"] for r in full_listings)
    assert all(r.query["singleEvents"] == ["false"] for r in full_listings)


def test_full_sync_resumes_after_a_crash_from_an_intermediate_page_cursor(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 5)
    provider.page_size = 2
    first_page = next(iter(provider.sync_events(calendar, None)))

    resumed = list(provider.sync_events(calendar, first_page.cursor))

    seen = [e.provider_event_id for page in [first_page, *resumed] for e in page.upserts]
    assert seen == [f"ev{index:05d}" for index in range(5)]
    assert all(page.full_sync for page in resumed)
    assert resumed[-1].complete


def test_incremental_sync_returns_only_changes(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 3)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.update_event(CALENDAR_ID, "ev00001", summary="Moved")
    emulator.put_event(
        CALENDAR_ID, timed("2024-06-01T09:00:00+02:00", "2024-06-01T10:00:00+02:00", id="new00001")
    )

    pages = list(provider.sync_events(calendar, cursor))

    assert sorted(upserts_by_id(pages)) == ["ev00001", "new00001"]
    assert upserts_by_id(pages)["ev00001"].summary == "Moved"
    assert not any(page.full_sync for page in pages)
    assert pages[-1].complete
    last_request = emulator.requests_to(f"/calendars/{CALENDAR_ID}/events")[-1]
    assert "syncToken" in last_request.query
    assert "timeMin" not in last_request.query


def test_incremental_sync_with_no_changes_is_one_empty_complete_page(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 2)
    cursor = full_sync(provider, calendar)[-1].cursor

    (page,) = provider.sync_events(calendar, cursor)

    assert page.upserts == [] and page.deletions == [] and page.complete


def test_cancelled_single_event_becomes_a_deletion(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 2)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.delete_event(CALENDAR_ID, "ev00000")

    (page,) = provider.sync_events(calendar, cursor)

    assert page.deletions == ["ev00000"]
    assert page.upserts == []


def test_recurring_master_carries_recurrence_lines_and_its_time_zone(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-03-25T09:00:00-04:00",
            "2024-03-25T09:30:00-04:00",
            zone="America/New_York",
            id="series00001",
            recurrence=[
                "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
                "EXDATE;TZID=America/New_York:20240401T090000",
            ],
        ),
    )

    (master,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert master.recurrence == [
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        "EXDATE;TZID=America/New_York:20240401T090000",
    ]
    assert master.tzid == "America/New_York"
    assert master.start == dt.datetime(2024, 3, 25, 13, 0, tzinfo=dt.UTC)


def test_timed_event_without_zone_falls_back_to_the_calendar_zone(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        {
            "id": "nozone0001",
            "start": {"dateTime": "2024-07-01T10:00:00+02:00"},
            "end": {"dateTime": "2024-07-01T11:00:00+02:00"},
        },
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.tzid == BERLIN
    assert event.start.utcoffset() == dt.timedelta(hours=2)


def test_cancelled_instance_becomes_a_cancelled_override_of_its_series(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-06T09:00:00+02:00",
            "2024-05-06T09:15:00+02:00",
            id="series00001",
            recurrence=["RRULE:FREQ=DAILY;COUNT=5"],
        ),
    )
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.cancel_instance(
        CALENDAR_ID, "series00001", {"dateTime": "2024-05-08T09:00:00+02:00", "timeZone": BERLIN}
    )

    (page,) = provider.sync_events(calendar, cursor)

    (instance,) = page.upserts
    assert page.deletions == []
    assert instance.status == "cancelled"
    assert instance.recurring_event_id == "series00001"
    assert instance.original_start == dt.datetime(2024, 5, 8, 7, 0, tzinfo=dt.UTC)


def test_modified_instance_keeps_its_link_to_the_series(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-06T09:00:00+02:00",
            "2024-05-06T09:15:00+02:00",
            id="series00001",
            recurrence=["RRULE:FREQ=DAILY;COUNT=5"],
        ),
    )
    emulator.override_instance(
        CALENDAR_ID,
        "series00001",
        {"dateTime": "2024-05-07T09:00:00+02:00", "timeZone": BERLIN},
        start={"dateTime": "2024-05-07T14:00:00+02:00", "timeZone": BERLIN},
        end={"dateTime": "2024-05-07T14:15:00+02:00", "timeZone": BERLIN},
    )

    events = upserts_by_id(full_sync(provider, calendar))

    (instance,) = [e for e in events.values() if e.recurring_event_id]
    assert instance.recurring_event_id == "series00001"
    assert instance.status == "confirmed"
    assert instance.start == dt.datetime(2024, 5, 7, 12, 0, tzinfo=dt.UTC)
    assert instance.recurrence == []


def test_declined_invitation_and_transparent_event_are_mapped(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T11:00:00+02:00",
            id="invite0001",
            organizer={"email": "bob@example.com"},
            attendees=[
                {"email": "bob@example.com", "organizer": True, "responseStatus": "accepted"},
                {"email": CALENDAR_ID, "self": True, "responseStatus": "declined"},
            ],
        ),
    )
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-02T10:00:00+02:00",
            "2024-05-02T11:00:00+02:00",
            id="free000001",
            transparency="transparent",
            status="tentative",
        ),
    )

    events = upserts_by_id(full_sync(provider, calendar))

    assert events["invite0001"].participation_status == "declined"
    assert events["invite0001"].transparency == "opaque"
    assert events["free000001"].transparency == "transparent"
    assert events["free000001"].status == "tentative"
    assert events["free000001"].participation_status == "accepted"  # we organise it


def test_invitation_without_a_guest_list_needs_action(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T11:00:00+02:00",
            id="invite0002",
            organizer={"email": "bob@example.com"},
        ),
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.participation_status == "needs_action"


def test_all_day_event_has_dates_not_datetimes(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        {"id": "holiday001", "start": {"date": "2024-12-25"}, "end": {"date": "2024-12-27"}},
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.all_day
    assert (event.start, event.end) == (dt.date(2024, 12, 25), dt.date(2024, 12, 27))
    assert not isinstance(event.start, dt.datetime)


def test_meet_link_is_read_from_the_video_entry_point(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T11:00:00+02:00",
            id="meet000001",
            conferenceData={
                "conferenceId": "abc-defg-hij",
                "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
                "entryPoints": [
                    {"entryPointType": "phone", "uri": "tel:+1-555-0100", "pin": "123"},
                    {"entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij"},
                ],
            },
        ),
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.conferencing is not None
    assert event.conferencing.join_url == "https://meet.google.com/abc-defg-hij"
    assert event.conferencing.provider_description == "Google Meet"


# -- cursors -----------------------------------------------------------------


def test_expired_sync_token_raises_cursor_expired(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.expire_sync_tokens(CALENDAR_ID)

    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, cursor))


def test_page_token_google_no_longer_accepts_raises_cursor_expired(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    cursor = json.dumps({"page_token": "garbage", "full": True, "v": 1})

    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, cursor))


def test_cursor_from_another_adapter_version_forces_a_full_sync(
    provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, json.dumps({"sync_token": "x", "v": 0})))


def test_last_page_without_next_sync_token_is_invalid_remote_data(
    provider: GoogleProvider, calendar: RemoteCalendar, monkeypatch
) -> None:
    class NoSyncTokenRequest:
        def execute(self, http: Any = None, num_retries: int = 0) -> dict[str, Any]:
            return {"kind": "calendar#events", "items": []}

    class Events:
        def list(self, **params: Any) -> NoSyncTokenRequest:
            return NoSyncTokenRequest()

    monkeypatch.setattr(type(provider), "events_api", property(lambda _self: Events()))

    with pytest.raises(InvalidRemoteData):
        list(provider.sync_events(calendar, None))


# -- tolerance of bad and new data ------------------------------------------


def test_malformed_item_is_skipped_with_a_warning_and_the_rest_arrives(
    emulator: GoogleCalendarEmulator,
    provider: GoogleProvider,
    calendar: RemoteCalendar,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed_events(emulator, 2)
    emulator.put_raw_item(CALENDAR_ID, {"id": "broken0001", "status": "confirmed"})
    emulator.put_raw_item(
        CALENDAR_ID,
        {"id": "broken0002", "start": {"date": "2024-02-31"}, "end": {"date": "2024-03-01"}},
    )

    with caplog.at_level(logging.WARNING, logger="providers.google"):
        (page,) = full_sync(provider, calendar)

    assert sorted(e.provider_event_id for e in page.upserts) == ["ev00000", "ev00001"]
    assert page.skipped == 2
    assert page.complete
    assert "broken0001" in caplog.text and "broken0002" in caplog.text


def test_unknown_fields_and_enum_values_are_tolerated(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_raw_item(
        CALENDAR_ID,
        {
            "kind": "calendar#event",
            "id": "future0001",
            "status": "provisional",
            "eventType": "hologramMeeting",
            "transparency": "translucent",
            "start": {"dateTime": "2024-05-01T10:00:00Z"},
            "end": {"dateTime": "2024-05-01T11:00:00Z"},
            "attendees": [{"email": CALENDAR_ID, "self": True, "responseStatus": "maybeLater"}],
            "sparkleProperties": {"level": 11},
        },
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.status == "confirmed"
    assert event.transparency == "opaque"
    assert event.participation_status == "unknown"
    assert event.extra == {"event_type": "hologramMeeting"}


# -- errors, retries, credentials -------------------------------------------


def test_rate_limit_is_retried_after_the_retry_after_wait(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    emulator.inject(Fault.rate_limited(retry_after=1))
    started = time.monotonic()

    calendars = provider.list_calendars()

    elapsed = time.monotonic() - started
    assert [c.provider_calendar_id for c in calendars] == [CALENDAR_ID]
    assert 0.9 <= elapsed < 3
    assert len(emulator.requests_to("/calendarList")) == 2


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(500),
        Fault.http_status(503, retry_after=0),
        Fault.http_status(403, "userRateLimitExceeded"),
    ],
    ids=["500", "503", "403-userRateLimitExceeded"],
)
def test_server_errors_are_retried(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, fault: Fault
) -> None:
    emulator.inject(fault, times=2)

    assert provider.profile_name() == CALENDAR_ID
    assert len(emulator.requests_to("/calendarList/primary")) == 3


def test_dropped_connections_are_retried(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    # httplib2 silently retries a single stale connection; three drops reach our policy.
    emulator.inject(Fault.drop_connection(), times=3)

    assert provider.profile_name() == CALENDAR_ID
    assert len(emulator.requests_to("/calendarList/primary")) == 4


def test_slow_response_times_out_and_is_retried(
    emulator: GoogleCalendarEmulator, google_provider_factory
) -> None:
    provider = google_provider_factory(timeout=0.3)
    emulator.inject(Fault.delay(1.0))

    assert provider.profile_name() == CALENDAR_ID
    assert len(emulator.requests_to("/calendarList/primary")) == 2


def test_malformed_response_body_is_retried(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    emulator.inject(Fault.malformed_json())

    assert provider.profile_name() == CALENDAR_ID


def test_persistent_server_errors_surface_as_transient_error(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    emulator.inject(Fault.http_status(502), times=provider.retry_attempts)

    with pytest.raises(TransientError):
        provider.list_calendars()


def test_forbidden_calendar_raises_permission_denied(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    emulator.inject(Fault.http_status(403, "forbidden"))

    with pytest.raises(PermissionDenied):
        provider.list_calendars()
    assert len(emulator.requests) == 1


def test_unknown_calendar_raises_not_found(provider: GoogleProvider) -> None:
    missing = RemoteCalendar(provider_calendar_id="nobody@example.com", name="x")

    with pytest.raises(NotFound):
        list(provider.sync_events(missing, None))


def test_revoked_refresh_token_raises_auth_revoked(
    emulator: GoogleCalendarEmulator, google_provider_factory
) -> None:
    credentials = emulator.issue_grant(access_token_valid=False)
    emulator.revoke_grant(credentials["refresh_token"])
    provider = google_provider_factory(credentials)

    with pytest.raises(AuthRevoked):
        provider.list_calendars()


def test_revoked_grant_with_a_still_cached_token_raises_auth_revoked(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider
) -> None:
    emulator.revoke_grant(provider.credentials["refresh_token"])

    with pytest.raises(AuthRevoked):
        provider.list_calendars()


def test_rejected_access_token_after_successful_refresh_raises_auth_revoked() -> None:
    error = _http_error(401, "authError")

    assert isinstance(provider_error(error), AuthRevoked)


def test_rate_limit_error_carries_the_retry_after_seconds() -> None:
    error = provider_error(_http_error(429, "rateLimitExceeded", retry_after="7"))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 7


def test_expired_access_token_is_refreshed_and_surfaces_in_refreshed_credentials(
    emulator: GoogleCalendarEmulator, google_provider_factory
) -> None:
    credentials = emulator.issue_grant(access_token_valid=False)
    provider = google_provider_factory(credentials)

    provider.list_calendars()
    refreshed = provider.refreshed_credentials()

    assert refreshed is not None
    assert refreshed["access_token"] != credentials["access_token"]
    assert refreshed["refresh_token"] == credentials["refresh_token"]
    assert dt.datetime.fromisoformat(refreshed["expiry"]) > dt.datetime.now(dt.UTC)
    assert refreshed["email"] == CALENDAR_ID
    assert provider.refreshed_credentials() is None


def test_rotated_refresh_token_surfaces_in_refreshed_credentials(
    emulator: GoogleCalendarEmulator, google_provider_factory
) -> None:
    emulator.rotate_refresh_tokens = True
    credentials = emulator.issue_grant(access_token_valid=False)
    provider = google_provider_factory(credentials)

    provider.list_calendars()
    refreshed = provider.refreshed_credentials()

    assert refreshed is not None
    assert refreshed["refresh_token"] != credentials["refresh_token"]
    assert google_provider_factory(refreshed).list_calendars()


def test_unchanged_credentials_are_not_reported(provider: GoogleProvider) -> None:
    provider.list_calendars()

    assert provider.refreshed_credentials() is None


def test_no_token_ever_appears_in_log_output(
    emulator: GoogleCalendarEmulator,
    google_provider_factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.rotate_refresh_tokens = True
    credentials = emulator.issue_grant(access_token_valid=False)
    provider = google_provider_factory(credentials)
    emulator.put_raw_item(CALENDAR_ID, {"id": "broken0001"})
    emulator.inject(Fault.http_status(500))

    with caplog.at_level(logging.DEBUG):
        calendar = provider.list_calendars()[0]
        list(provider.sync_events(calendar, None))
        refreshed = provider.refreshed_credentials()
        emulator.revoke_grant(refreshed["refresh_token"])
        emulator.expire_access_tokens()
        with pytest.raises(AuthRevoked):
            google_provider_factory(refreshed).list_calendars()

    secrets = [credentials["access_token"], credentials["refresh_token"]]
    secrets += [refreshed["access_token"], refreshed["refresh_token"]]
    assert "broken0001" in caplog.text  # the warning was logged...
    for secret in secrets:
        assert secret not in caplog.text  # ...but no token with it


# -- writing -----------------------------------------------------------------


def test_upsert_creates_then_replaces_the_same_event(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    event = RemoteEvent(
        provider_event_id="syncd-evt-1",
        start=dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
        end=dt.datetime(2024, 5, 1, 11, tzinfo=dt.UTC),
        tzid="Europe/London",
        summary="Interview",
    )

    created = provider.upsert_event(calendar, event)
    event.summary = "Interview (moved)"
    replaced = provider.upsert_event(calendar, event)

    assert created.provider_event_id == replaced.provider_event_id
    stored = emulator.event(CALENDAR_ID, created.provider_event_id)
    assert stored["summary"] == "Interview (moved)"
    assert stored["start"] == {"dateTime": "2024-05-01T10:00:00+00:00", "timeZone": "Europe/London"}
    assert len(emulator.requests_to("/events", method="POST")) == 1


def test_upsert_writes_all_day_events_as_dates(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    event = RemoteEvent(
        provider_event_id="offsite0001",
        start=dt.date(2024, 8, 1),
        end=dt.date(2024, 8, 3),
        all_day=True,
        recurrence=["RRULE:FREQ=YEARLY"],
    )

    written = provider.upsert_event(calendar, event)

    assert (written.start, written.end, written.all_day) == (event.start, event.end, True)
    assert emulator.event(CALENDAR_ID, "offsite0001")["recurrence"] == ["RRULE:FREQ=YEARLY"]


def test_delete_event_removes_it_and_a_missing_event_is_not_an_error(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)

    provider.delete_event(calendar, "ev00000")
    provider.delete_event(calendar, "ev00000")
    provider.delete_event(calendar, "neverexisted")

    assert emulator.event(CALENDAR_ID, "ev00000")["status"] == "cancelled"


def test_integrated_conference_returns_the_meet_link(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)
    event = RemoteEvent(provider_event_id="ev00000", start=dt.date.today(), end=dt.date.today())

    conferencing = provider.create_integrated_conference(calendar, event)

    assert conferencing is not None
    assert conferencing.join_url.startswith("https://meet.google.com/")
    (patch,) = emulator.requests_to("/events/ev00000", method="PATCH")
    assert patch.query["conferenceDataVersion"] == ["1"]


def test_pending_integrated_conference_is_polled_without_a_second_request(
    emulator: GoogleCalendarEmulator, provider: GoogleProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)
    emulator.conference_create_status = "pending"
    event = RemoteEvent(provider_event_id="ev00000", start=dt.date.today(), end=dt.date.today())

    assert provider.create_integrated_conference(calendar, event) is None
    emulator.complete_pending_conferences(CALENDAR_ID)
    conferencing = provider.create_integrated_conference(calendar, event)

    assert conferencing is not None
    assert conferencing.join_url.startswith("https://meet.google.com/")
    assert len(emulator.requests_to("/events/ev00000", method="PATCH")) == 1


# -- OAuth -------------------------------------------------------------------


def test_authorization_url_asks_for_offline_calendar_access_with_consent(
    emulator: GoogleCalendarEmulator, monkeypatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator is plain HTTP
    url = GoogleProvider.authorization_url(
        google_oauth_client(emulator), google_endpoints(emulator), state="st-123"
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith(emulator.authorize_url)
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["scope"] == ["https://www.googleapis.com/auth/calendar"]
    assert query["state"] == ["st-123"]
    assert query["response_type"] == ["code"]


def test_exchange_code_returns_storable_credentials_with_the_account_email(
    emulator: GoogleCalendarEmulator, monkeypatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

    credentials = GoogleProvider.exchange_code(
        google_oauth_client(emulator), google_endpoints(emulator), emulator.authorization_code()
    )

    assert credentials["email"] == CALENDAR_ID
    assert credentials["refresh_token"]
    assert dt.datetime.fromisoformat(credentials["expiry"]) > dt.datetime.now(dt.UTC)


def test_exchange_of_an_unknown_code_raises_auth_revoked(
    emulator: GoogleCalendarEmulator, monkeypatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

    with pytest.raises(AuthRevoked):
        GoogleProvider.exchange_code(
            google_oauth_client(emulator), google_endpoints(emulator), "4/not-a-code"
        )


def _http_error(status: int, reason: str, retry_after: str | None = None):

    headers = {"status": str(status)}
    if retry_after:
        headers["retry-after"] = retry_after
    body = {"error": {"code": status, "errors": [{"reason": reason}], "message": reason}}
    return HttpError(httplib2.Response(headers), json.dumps(body).encode())


# -- recorded cassettes (replayed with --record-mode=none, the default) -------
#
# Seeding goes through the adapter itself, so the same tests can be re-recorded against
# the emulator or, with SYNCD_GOOGLE_LIVE_* variables set, against the real API
# (docs/cassettes.md). The live calendar id is rewritten to CALENDAR_ID when recording, so
# cassettes from either source replay against the emulator's endpoints.

LIVE_CALENDAR_ID = os.environ.get("SYNCD_GOOGLE_LIVE_CALENDAR_ID", "")
CASSETTE_DIR = CASSETTES_DIR / "google"
BLANKED = "REDACTED"


def _scrub_identity(text: str) -> str:
    if not LIVE_CALENDAR_ID:
        return text
    for form in (LIVE_CALENDAR_ID, quote(LIVE_CALENDAR_ID, safe="")):
        text = text.replace(form, CALENDAR_ID if form == LIVE_CALENDAR_ID else quote(CALENDAR_ID))
    return text


def _scrub_request(request: Any) -> Any:
    request.uri = _scrub_identity(request.uri)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Blank tokens in JSON bodies and replace the live account's identity."""
    body = response["body"]["string"]
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        payload = json.loads(text)
    except ValueError:
        return response
    if isinstance(payload, dict):
        for key in ("access_token", "refresh_token", "id_token"):
            if key in payload:
                payload[key] = BLANKED
    response["body"]["string"] = _scrub_identity(json.dumps(payload)).encode("utf-8")
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": ["authorization"],
        "filter_post_data_parameters": ["client_secret", "refresh_token", "code"],
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
        # The emulator's port changes per run; everything else must match.
        "match_on": ("method", "scheme", "host", "path", "query"),
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTE_DIR)


@pytest.fixture
def cassette_provider(
    emulator: GoogleCalendarEmulator, record_mode: str
) -> Iterator[GoogleProvider]:
    """The emulator by default; the real API when re-recording with live credentials.

    When replaying, the emulator must see no request at all: the cassette answered.
    """
    refresh_token = os.environ.get("SYNCD_GOOGLE_LIVE_REFRESH_TOKEN")
    if not refresh_token:
        yield make_google_provider(emulator)
        if record_mode == "none":
            assert emulator.requests == [], "a cassette test reached the emulator"
        return
    yield GoogleProvider(
        GoogleProvider.credentials_from_refresh_token(refresh_token),
        oauth_client=OAuthClient(
            client_id=os.environ["SYNCD_GOOGLE_LIVE_CLIENT_ID"],
            client_secret=os.environ["SYNCD_GOOGLE_LIVE_CLIENT_SECRET"],
        ),
    )


def cassette_calendar(provider: GoogleProvider) -> RemoteCalendar:
    target = LIVE_CALENDAR_ID or CALENDAR_ID
    (calendar,) = [c for c in provider.list_calendars() if c.provider_calendar_id == target]
    return calendar


def write_cassette_event(
    provider: GoogleProvider, calendar: RemoteCalendar, event_id: str, summary: str
) -> None:
    provider.upsert_event(
        calendar,
        RemoteEvent(
            provider_event_id=event_id,
            start=dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
            end=dt.datetime(2024, 5, 1, 11, tzinfo=dt.UTC),
            tzid="Europe/Berlin",
            summary=summary,
        ),
    )


@pytest.mark.vcr
def test_cassette_calendar_list(cassette_provider: GoogleProvider) -> None:
    calendar = cassette_calendar(cassette_provider)

    assert not calendar.readonly
    assert calendar.integrated_conferencing_available
    assert calendar.timezone


@pytest.mark.vcr
def test_cassette_full_sync_with_paging(cassette_provider: GoogleProvider) -> None:
    calendar = cassette_calendar(cassette_provider)
    seeded = [f"cassette{index:03d}" for index in range(5)]
    for event_id in seeded:
        write_cassette_event(cassette_provider, calendar, event_id, f"Seeded {event_id}")
    cassette_provider.page_size = 2

    pages = full_sync(cassette_provider, calendar)

    assert len(pages) >= 3
    assert pages[-1].complete and all(page.full_sync for page in pages)
    events = upserts_by_id(pages)
    assert set(seeded) <= set(events)
    assert events["cassette000"].start == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)


@pytest.mark.vcr
def test_cassette_incremental_sync(cassette_provider: GoogleProvider) -> None:
    calendar = cassette_calendar(cassette_provider)
    write_cassette_event(cassette_provider, calendar, "cassetteincr1", "Stays")
    write_cassette_event(cassette_provider, calendar, "cassetteincr2", "Goes")
    cursor = full_sync(cassette_provider, calendar)[-1].cursor
    write_cassette_event(cassette_provider, calendar, "cassetteincr1", "Renamed")
    cassette_provider.delete_event(calendar, "cassetteincr2")

    pages = list(cassette_provider.sync_events(calendar, cursor))

    assert [e.summary for e in upserts_by_id(pages).values()] == ["Renamed"]
    assert [d for page in pages for d in page.deletions] == ["cassetteincr2"]
    assert pages[-1].complete
