"""Scenarios for the Microsoft 365 adapter, run against the stateful Graph emulator."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from providers.base import (
    AuthRevoked,
    ChangePage,
    CursorExpired,
    NotFound,
    OAuthClient,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)
from providers.microsoft import (
    MicrosoftProvider,
    http_error,
    token_error,
)
from providers.microsoft.auth import _authority
from tests.emulators.graph import Fault, GraphEmulator
from tests.support.graph_emulator import (
    graph_endpoints,
    graph_oauth_client,
    make_microsoft_provider,
)
from tests.support.paths import CASSETTES_DIR

CALENDAR_ID = "AAMkAGcalendar-primary"
USER = "alice@contoso.com"
UTC = dt.UTC
SOON = dt.date.today() + dt.timedelta(days=7)


def at(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat()


def timed(
    start: str, end: str, zone: str = "UTC", event_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    event = {
        "subject": event_id or "event",
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **fields,
    }
    if event_id:
        event["id"] = event_id
    return event


def weekly(event_id: str, first: dt.date, count: int, zone: str = "UTC") -> dict[str, Any]:
    return timed(
        at(first, 9),
        at(first, 9, 30),
        zone=zone,
        event_id=event_id,
        recurrence={
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [first.strftime("%A").lower()],
                "firstDayOfWeek": "sunday",
            },
            "range": {
                "type": "numbered",
                "startDate": first.isoformat(),
                "numberOfOccurrences": count,
            },
        },
    )


@pytest.fixture
def emulator(graph_emulator: GraphEmulator) -> GraphEmulator:
    graph_emulator.add_calendar(CALENDAR_ID, name="Calendar", default=True)
    return graph_emulator


@pytest.fixture
def provider(emulator: GraphEmulator, microsoft_provider_factory) -> MicrosoftProvider:
    return microsoft_provider_factory()


@pytest.fixture
def calendar(provider: MicrosoftProvider) -> RemoteCalendar:
    (primary,) = [c for c in provider.list_calendars() if c.primary]
    return primary


def full_sync(provider: MicrosoftProvider, calendar: RemoteCalendar) -> list[ChangePage]:
    return list(provider.sync_events(calendar, None))


def upserts_by_id(pages: list[ChangePage]) -> dict[str, RemoteEvent]:
    return {event.provider_event_id: event for page in pages for event in page.upserts}


def seed_events(emulator: GraphEmulator, count: int) -> list[str]:
    ids = [f"AAMkAGev{index:05d}" for index in range(count)]
    for event_id in ids:
        emulator.put_event(CALENDAR_ID, timed(at(SOON, 10), at(SOON, 11), event_id=event_id))
    return ids


def delta_requests(emulator: GraphEmulator) -> list[Any]:
    return emulator.requests_to("/calendarView/delta")


# -- profile and calendars ---------------------------------------------------


def test_profile_name_is_the_mailbox_address(provider: MicrosoftProvider) -> None:
    assert provider.profile_name() == USER


def test_profile_name_falls_back_to_the_user_principal_name(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    emulator.add_user("bob@contoso.onmicrosoft.com", mail=None)

    provider = microsoft_provider_factory(emulator.issue_grant("bob@contoso.onmicrosoft.com"))

    assert provider.profile_name() == "bob@contoso.onmicrosoft.com"


def test_calendar_list_maps_edit_rights_default_calendar_and_teams(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.add_calendar("AAMkAGshared", name="Team (read only)", can_edit=False)
    emulator.add_calendar("AAMkAGskype", name="Old", online_meeting_providers=("skypeForConsumer",))

    calendars = {c.provider_calendar_id: c for c in provider.list_calendars()}

    assert calendars[CALENDAR_ID] == RemoteCalendar(
        provider_calendar_id=CALENDAR_ID,
        name="Calendar",
        readonly=False,
        primary=True,
        integrated_conferencing_available=True,
    )
    assert calendars["AAMkAGshared"].readonly and not calendars["AAMkAGshared"].primary
    assert not calendars["AAMkAGskype"].integrated_conferencing_available


def test_calendar_list_follows_next_links(emulator: GraphEmulator, provider) -> None:
    for index in range(24):
        emulator.add_calendar(f"AAMkAGcal{index:03d}")

    assert len(provider.list_calendars()) == 25
    assert len(emulator.requests_to("/me/calendars")) == 3


# -- full and incremental sync -----------------------------------------------


def test_full_sync_asks_for_the_window_in_utc_and_pages_with_resumable_cursors(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 5)
    provider.page_size = 2

    pages = full_sync(provider, calendar)

    assert [len(page.upserts) for page in pages] == [2, 2, 1]
    assert all(page.full_sync for page in pages)
    assert [page.complete for page in pages] == [False, False, True]
    assert "$skiptoken" in json.loads(pages[0].cursor)["link"]
    assert "$deltatoken" in json.loads(pages[-1].cursor)["link"]
    first = delta_requests(emulator)[0]
    start = dt.datetime.fromisoformat(first.query["startDateTime"][0].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(first.query["endDateTime"][0].replace("Z", "+00:00"))
    assert (dt.date.today() - start.date()).days == provider.history_days
    assert (end.date() - dt.date.today()).days == provider.horizon_days
    assert first.headers["Prefer"] == 'outlook.timezone="UTC", odata.maxpagesize=2'


def test_full_sync_resumes_after_a_crash_from_an_intermediate_page_cursor(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    ids = seed_events(emulator, 5)
    provider.page_size = 2
    first_page = next(iter(provider.sync_events(calendar, None)))

    resumed = list(provider.sync_events(calendar, first_page.cursor))

    seen = [e.provider_event_id for page in [first_page, *resumed] for e in page.upserts]
    assert seen == ids
    assert all(page.full_sync for page in resumed)
    assert resumed[-1].complete


def test_events_outside_the_window_are_not_synced(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    far = dt.date.today() + dt.timedelta(days=provider.horizon_days + 10)
    emulator.put_event(CALENDAR_ID, timed(at(far, 9), at(far, 10), event_id="AAMkAGfar"))
    seed_events(emulator, 1)

    assert sorted(upserts_by_id(full_sync(provider, calendar))) == ["AAMkAGev00000"]


def test_delta_link_returns_only_changes(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 3)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.update_event(CALENDAR_ID, "AAMkAGev00001", subject="Moved")
    emulator.put_event(CALENDAR_ID, timed(at(SOON, 14), at(SOON, 15), event_id="AAMkAGnew"))

    pages = list(provider.sync_events(calendar, cursor))

    assert sorted(upserts_by_id(pages)) == ["AAMkAGev00001", "AAMkAGnew"]
    assert upserts_by_id(pages)["AAMkAGev00001"].summary == "Moved"
    assert not any(page.full_sync for page in pages) and pages[-1].complete
    last = delta_requests(emulator)[-1]
    assert "$deltatoken" in last.query and "startDateTime" not in last.query


def test_delta_without_changes_is_one_empty_complete_page(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 2)
    cursor = full_sync(provider, calendar)[-1].cursor

    (page,) = provider.sync_events(calendar, cursor)

    assert (page.upserts, page.deletions, page.complete) == ([], [], True)


def test_removed_items_become_deletions(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 2)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.delete_event(CALENDAR_ID, "AAMkAGev00000")

    (page,) = provider.sync_events(calendar, cursor)

    assert page.deletions == ["AAMkAGev00000"] and page.upserts == []


def test_series_arrive_as_expanded_single_occurrences(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(CALENDAR_ID, weekly("AAMkAGseries", SOON, count=3, zone="Europe/Berlin"))

    events = upserts_by_id(full_sync(provider, calendar))

    assert len(events) == 3
    assert all(not e.recurrence and e.recurring_event_id is None for e in events.values())
    assert {e.extra["series_master_id"] for e in events.values()} == {"AAMkAGseries"}
    starts = sorted(e.start for e in events.values())
    assert [s.astimezone(dt.UTC).date() for s in starts] == [
        SOON + dt.timedelta(weeks=n) for n in range(3)
    ]
    assert all(e.tzid == "Europe/Berlin" for e in events.values())


def test_cancelled_occurrence_is_removed_and_a_modified_one_updated(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(CALENDAR_ID, weekly("AAMkAGseries", SOON, count=3))
    cursor = full_sync(provider, calendar)[-1].cursor
    second, third = SOON + dt.timedelta(weeks=1), SOON + dt.timedelta(weeks=2)
    emulator.cancel_occurrence(CALENDAR_ID, "AAMkAGseries", second)
    emulator.modify_occurrence(
        CALENDAR_ID,
        "AAMkAGseries",
        third,
        start={"dateTime": at(third, 15), "timeZone": "UTC"},
        end={"dateTime": at(third, 16), "timeZone": "UTC"},
    )

    (page,) = provider.sync_events(calendar, cursor)

    assert page.deletions == [f"AAMkAGseries_{second:%Y%m%d}"]
    (moved,) = page.upserts
    assert moved.provider_event_id == f"AAMkAGseries_{third:%Y%m%d}"
    assert moved.start == dt.datetime.combine(third, dt.time(15), UTC)
    assert moved.extra["type"] == "exception"


# -- mapping -----------------------------------------------------------------


def test_times_in_a_windows_zone_are_honoured_when_graph_ignores_the_utc_preference(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.honour_prefer_timezone = False
    emulator.put_event(
        CALENDAR_ID,
        timed(at(SOON, 9), at(SOON, 10), zone="Pacific Standard Time", event_id="AAMkAGpst"),
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    pacific = dt.datetime.combine(SOON, dt.time(9), ZoneInfo("America/Los_Angeles"))
    assert event.start == pacific
    assert event.end - event.start == dt.timedelta(hours=1)
    assert event.tzid == "America/Los_Angeles"


def test_utc_times_from_graph_are_the_same_instant_as_written(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(at(SOON, 9), at(SOON, 10), zone="Tokyo Standard Time", event_id="AAMkAGtokyo"),
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.start == dt.datetime.combine(SOON, dt.time(0), UTC)
    assert event.tzid == "Asia/Tokyo"


def test_all_day_event_has_dates_not_datetimes(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(at(SOON, 0), at(SOON + dt.timedelta(days=2), 0), event_id="AAMkAGday", isAllDay=True),
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.all_day and not isinstance(event.start, dt.datetime)
    assert (event.start, event.end) == (SOON, SOON + dt.timedelta(days=2))


def test_show_as_free_is_transparent_and_tentative_is_tentative(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID, timed(at(SOON, 9), at(SOON, 10), event_id="AAMkAGfree", showAs="free")
    )
    emulator.put_event(
        CALENDAR_ID, timed(at(SOON, 11), at(SOON, 12), event_id="AAMkAGmaybe", showAs="tentative")
    )
    emulator.put_event(
        CALENDAR_ID, timed(at(SOON, 13), at(SOON, 14), event_id="AAMkAGoof", showAs="oof")
    )

    events = upserts_by_id(full_sync(provider, calendar))

    assert events["AAMkAGfree"].transparency == "transparent"
    assert (events["AAMkAGmaybe"].transparency, events["AAMkAGmaybe"].status) == (
        "opaque",
        "tentative",
    )
    assert (events["AAMkAGoof"].transparency, events["AAMkAGoof"].status) == ("opaque", "confirmed")


def test_declined_invitation_keeps_its_time_with_declined_participation(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            at(SOON, 9),
            at(SOON, 10),
            event_id="AAMkAGinvite",
            isOrganizer=False,
            responseStatus={"response": "declined", "time": "2024-04-30T08:00:00Z"},
        ),
    )
    emulator.put_event(CALENDAR_ID, timed(at(SOON, 11), at(SOON, 12), event_id="AAMkAGmine"))

    events = upserts_by_id(full_sync(provider, calendar))

    assert events["AAMkAGinvite"].participation_status == "declined"
    assert events["AAMkAGmine"].participation_status == "accepted"


def test_event_the_organizer_cancelled_is_a_deletion(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.update_event(CALENDAR_ID, "AAMkAGev00000", isCancelled=True, isOrganizer=False)

    (page,) = provider.sync_events(calendar, cursor)

    assert page.deletions == ["AAMkAGev00000"] and page.upserts == []


def test_teams_join_url_becomes_conferencing(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_event(
        CALENDAR_ID,
        timed(
            at(SOON, 9),
            at(SOON, 10),
            event_id="AAMkAGteams",
            isOnlineMeeting=True,
            onlineMeetingProvider="teamsForBusiness",
        ),
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert event.conferencing is not None
    assert event.conferencing.provider_description == "Microsoft Teams"
    assert event.conferencing.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")


def test_malformed_item_is_skipped_with_a_warning_and_the_rest_arrives(
    emulator: GraphEmulator,
    provider: MicrosoftProvider,
    calendar: RemoteCalendar,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed_events(emulator, 2)
    emulator.put_raw_item(CALENDAR_ID, {"id": "AAMkAGbroken1", "subject": "no times"})
    emulator.put_raw_item(
        CALENDAR_ID,
        {
            "id": "AAMkAGbroken2",
            "start": {"dateTime": "2024-02-31T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2024-03-01T10:00:00.0000000", "timeZone": "UTC"},
        },
    )

    with caplog.at_level(logging.WARNING, logger="providers.microsoft"):
        (page,) = full_sync(provider, calendar)

    assert sorted(upserts_by_id([page])) == ["AAMkAGev00000", "AAMkAGev00001"]
    assert page.skipped == 2 and page.complete
    assert "AAMkAGbroken1" in caplog.text and "AAMkAGbroken2" in caplog.text


def test_unknown_fields_and_enum_values_are_tolerated(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.put_raw_item(
        CALENDAR_ID,
        {
            "id": "AAMkAGfuture",
            "subject": "From the future",
            "start": {"dateTime": f"{SOON}T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"{SOON}T11:00:00.0000000", "timeZone": "UTC"},
            "showAs": "hologram",
            "type": "quantumInstance",
            "responseStatus": {"response": "maybeLater"},
            "sparkleProperties": {"level": 11},
        },
    )

    (event,) = upserts_by_id(full_sync(provider, calendar)).values()

    assert (event.status, event.transparency) == ("confirmed", "opaque")
    assert event.participation_status == "unknown"
    assert event.start == dt.datetime.combine(SOON, dt.time(10), UTC)


# -- cursors -----------------------------------------------------------------


def test_invalidated_delta_token_raises_cursor_expired(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.expire_delta_tokens(CALENDAR_ID)

    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, cursor))
    assert delta_requests(emulator)[-1].query.get("$deltatoken")


def test_resync_required_error_code_raises_cursor_expired(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    cursor = full_sync(provider, calendar)[-1].cursor
    emulator.inject(Fault.http_status(400, "resyncRequired"))

    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, cursor))


def test_a_window_that_fell_behind_forces_a_full_sync(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    cursor = json.loads(full_sync(provider, calendar)[-1].cursor)
    behind = dt.datetime.now(UTC) + dt.timedelta(
        days=provider.horizon_days - provider.window_refresh_days - 1
    )
    cursor["window_end"] = behind.isoformat()
    requests_before = len(emulator.requests)

    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, json.dumps(cursor)))
    assert len(emulator.requests) == requests_before


def test_a_recent_window_keeps_using_its_delta_link(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    cursor = json.loads(full_sync(provider, calendar)[-1].cursor)
    recent = dt.datetime.now(UTC) + dt.timedelta(
        days=provider.horizon_days - provider.window_refresh_days + 1
    )
    cursor["window_end"] = recent.isoformat()

    (page,) = provider.sync_events(calendar, json.dumps(cursor))

    assert page.complete and not page.full_sync


@pytest.mark.parametrize(
    "cursor",
    ["not json", json.dumps({"link": "x", "window_end": "2030-01-01T00:00:00+00:00", "v": 0})],
    ids=["unreadable", "other-version"],
)
def test_unusable_cursor_forces_a_full_sync(
    provider: MicrosoftProvider, calendar: RemoteCalendar, cursor: str
) -> None:
    with pytest.raises(CursorExpired):
        list(provider.sync_events(calendar, cursor))


def test_unknown_calendar_raises_not_found(provider: MicrosoftProvider) -> None:
    missing = RemoteCalendar(provider_calendar_id="AAMkAGnobody", name="x")

    with pytest.raises(NotFound):
        list(provider.sync_events(missing, None))


# -- errors, retries, credentials -------------------------------------------


def test_rate_limit_is_retried_after_the_retry_after_wait(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.inject(Fault.rate_limited(retry_after=1))
    started = time.monotonic()

    calendars = provider.list_calendars()

    elapsed = time.monotonic() - started
    assert [c.provider_calendar_id for c in calendars] == [CALENDAR_ID]
    assert 0.9 <= elapsed < 3
    assert len(emulator.requests_to("/me/calendars")) == 2


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http_status(500),
        Fault.http_status(502, "BadGateway"),
        Fault.http_status(503, "ServiceNotAvailable", retry_after=0),
        Fault.drop_connection(),
        Fault.malformed_json(),
    ],
    ids=["500", "502", "503", "reset", "malformed-json"],
)
def test_transient_failures_are_retried(
    emulator: GraphEmulator, provider: MicrosoftProvider, fault: Fault
) -> None:
    emulator.inject(fault, times=2)

    assert provider.profile_name() == USER
    assert len(emulator.requests_to("/v1.0/me")) == 3


def test_slow_response_times_out_and_is_retried(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    provider = microsoft_provider_factory(timeout=0.3)
    emulator.inject(Fault.delay(1.0))

    assert provider.profile_name() == USER
    assert len(emulator.requests_to("/v1.0/me")) == 2


def test_persistent_server_errors_surface_as_transient_error(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.inject(Fault.http_status(500), times=provider.retry_attempts)

    with pytest.raises(TransientError):
        provider.list_calendars()


def test_forbidden_request_raises_permission_denied_without_retrying(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.inject(Fault.http_status(403, "ErrorAccessDenied"))

    with pytest.raises(PermissionDenied):
        provider.list_calendars()
    assert len(emulator.requests) == 1


def test_http_errors_map_to_the_shared_errors() -> None:
    throttled = http_error(503, {"Retry-After": "7"}, b"{}")

    assert isinstance(throttled, RateLimited) and throttled.retry_after == 7
    assert isinstance(http_error(401, {}, b"{}"), AuthRevoked)
    assert isinstance(http_error(404, {}, b"{}"), NotFound)
    assert isinstance(http_error(410, {}, b"{}"), CursorExpired)
    body = json.dumps({"error": {"code": "SyncStateNotFound", "message": "gone"}})
    assert isinstance(http_error(400, {}, body.encode()), CursorExpired)
    assert isinstance(http_error(504, {}, b"<html>gateway</html>"), TransientError)


@pytest.mark.parametrize(
    "result",
    [
        {
            "error": "invalid_grant",
            "error_description": "AADSTS700082: expired",
            "error_codes": [700082],
        },
        {"error": "invalid_grant", "error_description": "AADSTS50173: revoked"},
        {"error": "interaction_required", "error_description": "AADSTS50076: MFA"},
        {"error": "unknown_error", "error_description": "AADSTS50173: The grant was revoked"},
    ],
    ids=["invalid_grant", "AADSTS50173", "interaction_required", "AADSTS-code-alone"],
)
def test_refused_grants_map_to_auth_revoked(result: dict[str, Any]) -> None:
    assert isinstance(token_error(result), AuthRevoked)


@pytest.mark.parametrize(
    "result",
    [{"error": "temporarily_unavailable"}, {"error": "server_error"}, {"error": {"code": "x"}}],
    ids=["temporarily_unavailable", "server_error", "no-oauth-code"],
)
def test_authority_outages_map_to_transient_error(result: dict[str, Any]) -> None:
    assert isinstance(token_error(result), TransientError)


def test_misconfigured_client_fails_the_run_without_disconnecting() -> None:
    error = token_error({"error": "invalid_client", "error_description": "AADSTS7000215: bad"})

    assert type(error) is ProviderError


def test_revoked_refresh_token_raises_auth_revoked(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    credentials = emulator.issue_grant(access_token_valid=False)
    emulator.revoke_grant(credentials["refresh_token"])

    with pytest.raises(AuthRevoked):
        microsoft_provider_factory(credentials).list_calendars()


def test_revoked_grant_with_a_still_unexpired_token_raises_auth_revoked(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.revoke_user(USER)

    with pytest.raises(AuthRevoked):
        provider.list_calendars()
    (refresh,) = emulator.requests_to("/oauth2/v2.0/token", method="POST")
    assert refresh


def test_token_rejected_right_after_a_refresh_raises_auth_revoked(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    provider = microsoft_provider_factory(emulator.issue_grant(access_token_valid=False))
    emulator.inject(Fault.http_status(401, "InvalidAuthenticationToken"))

    with pytest.raises(AuthRevoked):
        provider.list_calendars()
    assert len(emulator.requests_to("/oauth2/v2.0/token", method="POST")) == 1


def test_token_authority_outage_is_transient(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    provider = microsoft_provider_factory(emulator.issue_grant(access_token_valid=False))
    emulator.inject(Fault.http_status(503, "ServiceUnavailable"), path_prefix="/common/oauth2")

    with pytest.raises(TransientError):
        provider.list_calendars()


def test_expired_access_token_is_refreshed_and_the_rotated_refresh_token_persisted(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    credentials = emulator.issue_grant(access_token_valid=False)
    provider = microsoft_provider_factory(credentials)

    provider.list_calendars()
    refreshed = provider.refreshed_credentials()

    assert refreshed is not None
    assert refreshed["access_token"] != credentials["access_token"]
    assert refreshed["refresh_token"] != credentials["refresh_token"]
    assert dt.datetime.fromisoformat(refreshed["expiry"]) > dt.datetime.now(UTC)
    assert refreshed["email"] == USER
    assert provider.refreshed_credentials() is None
    emulator.expire_access_tokens()
    assert microsoft_provider_factory(refreshed).list_calendars()


def test_refresh_without_rotation_keeps_the_refresh_token(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    emulator.rotate_refresh_tokens = False
    credentials = emulator.issue_grant(access_token_valid=False)
    provider = microsoft_provider_factory(credentials)

    provider.list_calendars()

    assert provider.refreshed_credentials()["refresh_token"] == credentials["refresh_token"]


def test_unchanged_credentials_are_not_reported(provider: MicrosoftProvider) -> None:
    provider.list_calendars()

    assert provider.refreshed_credentials() is None


def test_a_custom_authority_is_discovered_without_asking_microsoft_to_validate_it(
    emulator: GraphEmulator, microsoft_provider_factory
) -> None:
    microsoft_provider_factory(emulator.issue_grant(access_token_valid=False)).list_calendars()

    (discovery,) = emulator.requests_to("/common/v2.0/.well-known/openid-configuration")
    assert discovery
    assert not emulator.requests_to("/common/discovery/instance")


def test_no_token_ever_appears_in_log_output(
    emulator: GraphEmulator,
    microsoft_provider_factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    credentials = emulator.issue_grant(access_token_valid=False)
    provider = microsoft_provider_factory(credentials)
    emulator.put_raw_item(CALENDAR_ID, {"id": "AAMkAGbroken1"})
    emulator.inject(Fault.http_status(500))

    with caplog.at_level(logging.DEBUG):
        calendar = provider.list_calendars()[0]
        list(provider.sync_events(calendar, None))
        refreshed = provider.refreshed_credentials()
        emulator.revoke_grant(refreshed["refresh_token"])
        with pytest.raises(AuthRevoked):
            microsoft_provider_factory(refreshed).list_calendars()

    secrets = [credentials["access_token"], credentials["refresh_token"]]
    secrets += [refreshed["access_token"], refreshed["refresh_token"]]
    assert "AAMkAGbroken1" in caplog.text  # the warning was logged...
    for secret in secrets:
        assert secret not in caplog.text  # ...but no token with it


# -- writing -----------------------------------------------------------------


def new_event(event_id: str = "syncd-evt-1", **fields: Any) -> RemoteEvent:
    start = dt.datetime.combine(SOON, dt.time(10), UTC)
    defaults: dict[str, Any] = {
        "provider_event_id": event_id,
        "start": start,
        "end": start + dt.timedelta(hours=1),
        "tzid": "Europe/London",
        "summary": "Interview",
    }
    return RemoteEvent(**{**defaults, **fields})


def test_upsert_creates_an_event_graph_names_then_updates_it_by_that_id(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    created = provider.upsert_event(calendar, new_event())
    created.summary = "Interview (moved)"
    updated = provider.upsert_event(calendar, created)

    assert created.provider_event_id.startswith("AAMk")
    assert updated.provider_event_id == created.provider_event_id
    stored = emulator.event(CALENDAR_ID, created.provider_event_id)
    assert stored["subject"] == "Interview (moved)"
    assert stored["originalStartTimeZone"] == "Europe/London"
    assert updated.start == dt.datetime.combine(SOON, dt.time(10), UTC)
    assert len(emulator.requests_to("/events", method="POST")) == 1


def test_retried_create_does_not_duplicate_the_event(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    first = provider.upsert_event(calendar, new_event("syncd-evt-2"))
    again = provider.upsert_event(calendar, new_event("syncd-evt-2"))

    assert again.provider_event_id == first.provider_event_id
    assert len(emulator.served_ids(CALENDAR_ID)) == 1


def test_upsert_writes_all_day_and_free_events(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    event = new_event(
        "offsite",
        start=SOON,
        end=SOON + dt.timedelta(days=2),
        all_day=True,
        tzid=None,
        transparency="transparent",
    )

    written = provider.upsert_event(calendar, event)

    assert (written.start, written.end, written.all_day) == (event.start, event.end, True)
    assert written.transparency == "transparent"
    assert emulator.event(CALENDAR_ID, written.provider_event_id)["showAs"] == "free"


def test_upsert_writes_a_weekly_rule_as_a_patterned_recurrence(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    written = provider.upsert_event(
        calendar, new_event("standup", recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"])
    )

    recurrence = emulator.event(CALENDAR_ID, written.provider_event_id)["recurrence"]
    assert recurrence["pattern"]["daysOfWeek"] == ["monday", "wednesday"]
    assert recurrence["range"]["numberOfOccurrences"] == 4
    assert len(emulator.served_ids(CALENDAR_ID)) == 4


def test_upsert_refuses_a_rule_graph_cannot_express(
    provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    with pytest.raises(PermissionDenied):
        provider.upsert_event(
            calendar, new_event("odd", recurrence=["RRULE:FREQ=MONTHLY;BYSETPOS=-1"])
        )


def test_delete_event_removes_it_and_a_missing_event_is_not_an_error(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    seed_events(emulator, 1)

    provider.delete_event(calendar, "AAMkAGev00000")
    provider.delete_event(calendar, "AAMkAGev00000")
    provider.delete_event(calendar, "never-existed")

    assert emulator.served_ids(CALENDAR_ID) == []


def test_integrated_conference_makes_the_event_a_teams_meeting(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    created = provider.upsert_event(calendar, new_event())

    conferencing = provider.create_integrated_conference(calendar, created)

    assert conferencing is not None
    assert conferencing.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    (patch,) = [r for r in emulator.requests_to(created.provider_event_id, method="PATCH")]
    assert patch


def test_pending_teams_meeting_is_polled_without_a_second_request(
    emulator: GraphEmulator, provider: MicrosoftProvider, calendar: RemoteCalendar
) -> None:
    emulator.online_meetings_ready = False
    created = provider.upsert_event(calendar, new_event())

    assert provider.create_integrated_conference(calendar, created) is None
    emulator.complete_online_meetings(CALENDAR_ID)
    conferencing = provider.create_integrated_conference(calendar, created)

    assert conferencing is not None
    assert len(emulator.requests_to(created.provider_event_id, method="PATCH")) == 1


def test_integrated_conference_on_a_calendar_without_teams_is_refused(
    emulator: GraphEmulator, provider: MicrosoftProvider
) -> None:
    emulator.add_calendar("AAMkAGnoteams", online_meeting_providers=())
    calendar = RemoteCalendar(provider_calendar_id="AAMkAGnoteams", name="x")
    created = provider.upsert_event(calendar, new_event())

    with pytest.raises(PermissionDenied):
        provider.create_integrated_conference(calendar, created)


# -- OAuth -------------------------------------------------------------------


def test_authority_comes_from_the_configured_token_url(emulator: GraphEmulator) -> None:
    assert _authority(graph_endpoints(emulator)) == f"{emulator.origin}/common"
    assert _authority(type(graph_endpoints(emulator))()) == (
        "https://login.microsoftonline.com/common"
    )


def test_authorization_url_asks_for_offline_calendar_and_meeting_access(
    emulator: GraphEmulator,
) -> None:
    url = MicrosoftProvider.authorization_url(
        graph_oauth_client(emulator), graph_endpoints(emulator), state="st-123"
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith(emulator.authorize_url)
    assert set(query["scope"][0].split()) >= {
        "offline_access",
        "Calendars.ReadWrite",
        "User.Read",
        "OnlineMeetings.ReadWrite",
    }
    assert query["state"] == ["st-123"]
    assert query["response_type"] == ["code"]


def test_exchange_code_returns_storable_credentials_with_the_account_email(
    emulator: GraphEmulator,
) -> None:
    credentials = MicrosoftProvider.exchange_code(
        graph_oauth_client(emulator), graph_endpoints(emulator), emulator.authorization_code()
    )

    assert credentials["email"] == USER
    assert credentials["refresh_token"] and credentials["access_token"]
    assert dt.datetime.fromisoformat(credentials["expiry"]) > dt.datetime.now(UTC)


def test_exchange_of_an_unknown_code_raises_auth_revoked(emulator: GraphEmulator) -> None:
    with pytest.raises(AuthRevoked):
        MicrosoftProvider.exchange_code(
            graph_oauth_client(emulator), graph_endpoints(emulator), "0.Aemu-not-a-code"
        )


# -- recorded cassettes (replayed with --record-mode=none, the default) -------
#
# Seeding goes through the adapter itself, so the same tests can be re-recorded against
# the emulator or, with SYNCD_MICROSOFT_LIVE_* variables set, against the real Graph
# (docs/cassettes.md). The live calendar id is rewritten to CALENDAR_ID and the rolling
# window's dates to a placeholder, so cassettes replay on any day against any port.

LIVE_CALENDAR_ID = os.environ.get("SYNCD_MICROSOFT_LIVE_CALENDAR_ID", "")
CASSETTE_DIR = CASSETTES_DIR / "microsoft"
BLANKED = "REDACTED"
_WINDOW_PARAMS = re.compile(r"(startDateTime|endDateTime)=[^&]*")


def _scrub_identity(text: str) -> str:
    if not LIVE_CALENDAR_ID:
        return text
    for live in (LIVE_CALENDAR_ID, quote(LIVE_CALENDAR_ID, safe="")):
        text = text.replace(live, CALENDAR_ID)
    # Graph's host becomes the emulator's (whose port replay ignores), links included.
    return text.replace("https://graph.microsoft.com/v1.0/", "https://127.0.0.1/v1.0/")


def _scrub_request(request: Any) -> Any:
    """Applied when recording and before matching: identity and today's window removed."""
    request.uri = _WINDOW_PARAMS.sub(r"\1=WINDOW", _scrub_identity(request.uri))
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
        for key in ("access_token", "refresh_token", "id_token", "client_info"):
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
def cassette_provider(emulator: GraphEmulator, record_mode: str) -> Iterator[MicrosoftProvider]:
    """The emulator by default; the real Graph when re-recording with live credentials.

    When replaying, the emulator must see no request at all: the cassette answered.
    """
    refresh_token = os.environ.get("SYNCD_MICROSOFT_LIVE_REFRESH_TOKEN")
    if not refresh_token:
        yield make_microsoft_provider(emulator)
        if record_mode == "none":
            assert emulator.requests == [], "a cassette test reached the emulator"
        return
    yield MicrosoftProvider(
        MicrosoftProvider.credentials_from_refresh_token(refresh_token),
        oauth_client=OAuthClient(
            client_id=os.environ["SYNCD_MICROSOFT_LIVE_CLIENT_ID"],
            client_secret=os.environ["SYNCD_MICROSOFT_LIVE_CLIENT_SECRET"],
        ),
    )


def cassette_calendar(provider: MicrosoftProvider) -> RemoteCalendar:
    target = LIVE_CALENDAR_ID or CALENDAR_ID
    (calendar,) = [c for c in provider.list_calendars() if c.provider_calendar_id == target]
    return calendar


def write_cassette_event(
    provider: MicrosoftProvider,
    calendar: RemoteCalendar,
    our_id: str,
    summary: str,
    recurrence: list[str] | None = None,
) -> RemoteEvent:
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(10), UTC)
    return provider.upsert_event(
        calendar,
        RemoteEvent(
            provider_event_id=our_id,
            start=start,
            end=start + dt.timedelta(hours=1),
            tzid="Europe/Berlin",
            summary=summary,
            recurrence=recurrence or [],
        ),
    )


def occurrences_of(events: dict[str, RemoteEvent], master: RemoteEvent) -> list[RemoteEvent]:
    """The series' occurrences (Graph's delta serves them sparse; the adapter completes them)."""
    return [
        e for e in events.values() if e.extra.get("series_master_id") == master.provider_event_id
    ]


@pytest.mark.vcr
def test_cassette_calendar_list(cassette_provider: MicrosoftProvider) -> None:
    calendar = cassette_calendar(cassette_provider)

    assert not calendar.readonly
    assert calendar.integrated_conferencing_available
    assert calendar.primary  # named by /me/calendar: the listed entries lack isDefaultCalendar


@pytest.mark.vcr
def test_cassette_full_sync_with_paging(cassette_provider: MicrosoftProvider) -> None:
    calendar = cassette_calendar(cassette_provider)
    written = [
        write_cassette_event(cassette_provider, calendar, f"cassette{index:03d}", f"Seeded {index}")
        for index in range(5)
    ]
    series = write_cassette_event(
        cassette_provider, calendar, "cassetteseries", "Seeded series", ["RRULE:FREQ=DAILY;COUNT=3"]
    )
    cassette_provider.page_size = 2

    pages = full_sync(cassette_provider, calendar)

    assert len(pages) >= 3
    assert pages[-1].complete and all(page.full_sync for page in pages)
    events = upserts_by_id(pages)
    assert {event.provider_event_id for event in written} <= set(events)
    assert events[written[0].provider_event_id].summary == "Seeded 0"
    occurrences = occurrences_of(events, series)
    assert len(occurrences) == 3
    assert {(e.summary, e.extra["type"]) for e in occurrences} == {("Seeded series", "occurrence")}


@pytest.mark.vcr
def test_cassette_incremental_sync(cassette_provider: MicrosoftProvider) -> None:
    calendar = cassette_calendar(cassette_provider)
    stays = write_cassette_event(cassette_provider, calendar, "cassetteincr1", "Stays")
    goes = write_cassette_event(cassette_provider, calendar, "cassetteincr2", "Goes")
    series = write_cassette_event(
        cassette_provider, calendar, "cassetteincr3", "Series", ["RRULE:FREQ=DAILY;COUNT=2"]
    )
    cursor = full_sync(cassette_provider, calendar)[-1].cursor
    stays.summary = "Renamed"
    cassette_provider.upsert_event(calendar, stays)
    cassette_provider.delete_event(calendar, goes.provider_event_id)
    series.summary = "Renamed series"
    series.recurrence = ["RRULE:FREQ=DAILY;COUNT=2"]  # a write is the whole event
    cassette_provider.upsert_event(calendar, series)

    pages = list(cassette_provider.sync_events(calendar, cursor))

    events = upserts_by_id(pages)
    assert sorted(e.summary for e in events.values()) == ["Renamed"] + ["Renamed series"] * 2
    assert len(occurrences_of(events, series)) == 2
    assert [d for page in pages for d in page.deletions] == [goes.provider_event_id]
    assert pages[-1].complete
