"""The CalDAV adapter against a real Radicale server."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import requests
from requests.adapters import HTTPAdapter

from providers.base import (
    AuthRevoked,
    ChangePage,
    CursorExpired,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)
from providers.caldav import CalDAVProvider, error_for_response
from syncd.radicale_server import RadicaleServer, free_port, sample_event_ics, seeded_radicale
from tests.support.paths import REPO_ROOT
from tests.support.radicale import HTPASSWD_PASSWORD, HTPASSWD_USER, CalDAVAccount

BERLIN = ZoneInfo("Europe/Berlin")


def _path(account: CalDAVAccount) -> str:
    """The calendar's path on its server (items are ``<path><uid>.ics``)."""
    return urlsplit(account.calendar_url).path


#: Tests that write Radicale's paths (``/<user>/work/<uid>.ics``, the principal at
#: ``/<user>/``) into their expectations; Xandikos keeps one principal at ``/user/``.
_RADICALE_PATHS = {
    "test_discovery_from_a_principal_url_lists_the_same_calendars",
}


@pytest.fixture(params=["radicale", "xandikos"])
def caldav_account(
    request: pytest.FixtureRequest, radicale_server: RadicaleServer
) -> CalDAVAccount:
    """A fresh user with one empty "Work" calendar, on Radicale and on Xandikos (issue 15)."""
    if request.param == "xandikos" and request.node.originalname in _RADICALE_PATHS:
        pytest.skip("spells Radicale's /<user>/<calendar>/ paths out")
    user = f"user-{uuid.uuid4().hex[:10]}"
    server = (
        radicale_server
        if request.param == "radicale"
        else request.getfixturevalue("xandikos_server")
    )
    calendar_url = server.make_calendar(user, "work", "Work")
    return CalDAVAccount(server=server, user=user, calendar_url=calendar_url)


def _event_ics(uid: str, summary: str = "Meeting", day: int = 3) -> str:
    start = dt.datetime(2025, 3, day, 9)
    return sample_event_ics(
        uid, summary, start, start + dt.timedelta(hours=1), tzid="Europe/Berlin"
    )


def _provider(account: CalDAVAccount, **options: Any) -> CalDAVProvider:
    return CalDAVProvider(account.credentials, **options)


def _work_calendar(provider: CalDAVProvider) -> RemoteCalendar:
    (calendar,) = [c for c in provider.list_calendars() if c.name == "Work"]
    return calendar


def _sync(
    provider: CalDAVProvider, calendar: RemoteCalendar, cursor: str | None
) -> list[ChangePage]:
    return list(provider.sync_events(calendar, cursor))


def _upserted(pages: list[ChangePage]) -> dict[str, RemoteEvent]:
    return {event.ical_uid or "": event for page in pages for event in page.upserts}


def _deleted(pages: list[ChangePage]) -> list[str]:
    return [href for page in pages for href in page.deletions]


def _count_requests(provider: CalDAVProvider) -> list[str]:
    methods: list[str] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        methods.append(str(response.request.method))

    provider.session.hooks["response"].append(record)
    return methods


# -- discovery -----------------------------------------------------------------------


def test_discovery_from_the_server_root_lists_every_calendar_of_the_user(
    caldav_account: CalDAVAccount,
) -> None:
    caldav_account.server.make_calendar(caldav_account.user, "home", "Home")

    calendars = _provider(caldav_account).list_calendars()

    assert sorted(c.name for c in calendars) == ["Home", "Work"]
    assert {c.provider_calendar_id for c in calendars} == {
        caldav_account.calendar_url,
        caldav_account.server.calendar_url(caldav_account.user, "home"),
    }
    assert [c.primary for c in calendars].count(True) == 1
    assert not any(c.readonly for c in calendars)


def test_discovery_from_a_principal_url_lists_the_same_calendars(
    caldav_account: CalDAVAccount,
) -> None:
    credentials = caldav_account.credentials | {
        "url": f"{caldav_account.server.url}/{caldav_account.user}/"
    }

    calendars = CalDAVProvider(credentials).list_calendars()

    assert [c.provider_calendar_id for c in calendars] == [caldav_account.calendar_url]


def test_discovery_from_a_calendar_url_lists_only_that_calendar(
    caldav_account: CalDAVAccount,
) -> None:
    caldav_account.server.make_calendar(caldav_account.user, "home", "Home")
    credentials = caldav_account.credentials | {"url": caldav_account.calendar_url}

    calendars = CalDAVProvider(credentials).list_calendars()

    assert [(c.name, c.provider_calendar_id) for c in calendars] == [
        ("Work", caldav_account.calendar_url)
    ]


def test_profile_name_is_the_username(caldav_account: CalDAVAccount) -> None:
    assert _provider(caldav_account).profile_name() == caldav_account.user


# -- full and incremental sync --------------------------------------------------------


def test_full_sync_returns_every_event_with_its_fields(caldav_account: CalDAVAccount) -> None:
    server, url = caldav_account.server, caldav_account.calendar_url
    server.put_event(url, "timed", _event_ics("timed", "Standup"))
    server.put_event(
        url,
        "all-day",
        sample_event_ics(
            "all-day", "Holiday", dt.date(2025, 3, 5), dt.date(2025, 3, 6), transparent=True
        ),
    )
    provider = _provider(caldav_account)

    pages = _sync(provider, _work_calendar(provider), None)

    events = _upserted(pages)
    assert set(events) == {"timed", "all-day"}
    timed, all_day = events["timed"], events["all-day"]
    assert timed.provider_event_id == f"{_path(caldav_account)}timed.ics"
    assert timed.summary == "Standup"
    assert timed.start == dt.datetime(2025, 3, 3, 9, tzinfo=BERLIN)
    assert timed.end == dt.datetime(2025, 3, 3, 10, tzinfo=BERLIN)
    assert timed.tzid == "Europe/Berlin"
    assert timed.etag and timed.ical and "BEGIN:VCALENDAR" in timed.ical
    assert (all_day.all_day, all_day.start, all_day.end) == (
        True,
        dt.date(2025, 3, 5),
        dt.date(2025, 3, 6),
    )
    assert all_day.transparency == "transparent"
    assert all(page.full_sync for page in pages)
    assert pages[-1].complete and pages[-1].cursor


def test_full_sync_of_a_big_calendar_arrives_in_bounded_pages(
    caldav_account: CalDAVAccount,
) -> None:
    for index in range(5):
        caldav_account.server.put_event(
            caldav_account.calendar_url, f"e{index}", _event_ics(f"e{index}")
        )
    provider = _provider(caldav_account, page_size=2)

    pages = _sync(provider, _work_calendar(provider), None)

    assert [len(page.upserts) for page in pages] == [2, 2, 1]
    assert [page.complete for page in pages] == [False, False, True]
    assert [page.cursor is not None for page in pages] == [False, False, True]


def test_incremental_sync_returns_only_changes_and_deletions(
    caldav_account: CalDAVAccount,
) -> None:
    server, url = caldav_account.server, caldav_account.calendar_url
    for uid in ("kept", "changed", "removed"):
        server.put_event(url, uid, _event_ics(uid))
    provider = _provider(caldav_account)
    calendar = _work_calendar(provider)
    cursor = _sync(provider, calendar, None)[-1].cursor
    server.put_event(url, "changed", _event_ics("changed", "Moved meeting", day=4))
    server.put_event(url, "added", _event_ics("added"))
    server.delete_event(url, "removed")

    pages = _sync(provider, calendar, cursor)

    assert set(_upserted(pages)) == {"changed", "added"}
    assert _upserted(pages)["changed"].summary == "Moved meeting"
    assert _deleted(pages) == [f"{_path(caldav_account)}removed.ics"]
    assert not any(page.full_sync for page in pages)


def test_incremental_sync_without_changes_is_one_request(caldav_account: CalDAVAccount) -> None:
    caldav_account.server.put_event(caldav_account.calendar_url, "one", _event_ics("one"))
    provider = _provider(caldav_account)
    calendar = _work_calendar(provider)
    cursor = _sync(provider, calendar, None)[-1].cursor
    requests_made = _count_requests(provider)

    pages = _sync(provider, calendar, cursor)

    assert requests_made == ["REPORT"]
    assert len(pages) == 1 and pages[0].complete
    assert not pages[0].upserts and not pages[0].deletions


def test_an_unknown_sync_token_raises_cursor_expired(caldav_account: CalDAVAccount) -> None:
    provider = _provider(caldav_account)
    stale = '{"v":1,"mode":"sync","token":"http://radicale.org/ns/sync/' + "0" * 64 + '"}'

    with pytest.raises(CursorExpired):
        _sync(provider, _work_calendar(provider), stale)


def test_an_unreadable_cursor_raises_cursor_expired(caldav_account: CalDAVAccount) -> None:
    provider = _provider(caldav_account)

    with pytest.raises(CursorExpired):
        _sync(provider, _work_calendar(provider), "not json")


# -- etag fallback ---------------------------------------------------------------------


def test_etag_fallback_finds_changes_and_deletions(caldav_account: CalDAVAccount) -> None:
    server, url = caldav_account.server, caldav_account.calendar_url
    for uid in ("kept", "changed", "removed"):
        server.put_event(url, uid, _event_ics(uid))
    provider = _provider(caldav_account, sync_mode="etag")
    calendar = _work_calendar(provider)
    full = _sync(provider, calendar, None)
    server.put_event(url, "changed", _event_ics("changed", "Moved meeting", day=4))
    server.delete_event(url, "removed")

    pages = _sync(provider, calendar, full[-1].cursor)

    assert set(_upserted(full)) == {"kept", "changed", "removed"}
    assert '"mode":"etag"' in (full[-1].cursor or "")
    assert list(_upserted(pages)) == ["changed"]
    assert _deleted(pages) == [f"{_path(caldav_account)}removed.ics"]


def test_etag_fallback_without_changes_is_one_request(caldav_account: CalDAVAccount) -> None:
    caldav_account.server.put_event(caldav_account.calendar_url, "one", _event_ics("one"))
    provider = _provider(caldav_account, sync_mode="etag")
    calendar = _work_calendar(provider)
    cursor = _sync(provider, calendar, None)[-1].cursor
    requests_made = _count_requests(provider)

    pages = _sync(provider, calendar, cursor)

    assert requests_made == ["PROPFIND"]
    assert not pages[0].upserts and not pages[0].deletions


class _RefusesSyncCollection(HTTPAdapter):
    """Plays a server without RFC 6578: sync-collection REPORTs get 501."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else b""
        if request.method == "REPORT" and b"sync-collection" in body:
            refusal = requests.Response()
            refusal.status_code = 501
            refusal.request = request
            refusal.url = request.url or ""
            refusal._content = b""
            return refusal
        return super().send(request, **kwargs)


def test_a_server_without_sync_collection_is_synced_by_etags(
    caldav_account: CalDAVAccount,
) -> None:
    caldav_account.server.put_event(caldav_account.calendar_url, "one", _event_ics("one"))
    provider = _provider(caldav_account)
    provider.session.mount("http://", _RefusesSyncCollection())

    pages = _sync(provider, _work_calendar(provider), None)

    assert list(_upserted(pages)) == ["one"]
    assert '"mode":"etag"' in (pages[-1].cursor or "")


# -- content ---------------------------------------------------------------------------


def test_a_malformed_item_is_skipped_with_a_warning_and_the_rest_arrive(
    caldav_account: CalDAVAccount, caplog: pytest.LogCaptureFixture
) -> None:
    server, url = caldav_account.server, caldav_account.calendar_url
    server.put_event(url, "good", _event_ics("good"))
    ends_before_it_starts = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nBEGIN:VEVENT\r\nUID:bad\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20250101T100000Z\r\nDTEND:20250101T090000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    server.put_event(url, "bad", ends_before_it_starts)
    provider = _provider(caldav_account)

    with caplog.at_level(logging.WARNING, logger="providers.caldav"):
        pages = _sync(provider, _work_calendar(provider), None)

    assert list(_upserted(pages)) == ["good"]
    assert sum(page.skipped for page in pages) == 1
    assert "bad.ics" in caplog.text
    assert caldav_account.credentials["password"] not in caplog.text


def test_a_recurring_series_with_exdate_and_override_is_one_event_carrying_its_ical(
    caldav_account: CalDAVAccount,
) -> None:
    series = sample_event_ics(
        "weekly",
        "Weekly sync",
        dt.datetime(2025, 3, 3, 9),
        dt.datetime(2025, 3, 3, 10),
        tzid="Europe/Berlin",
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates=[dt.datetime(2025, 3, 10, 9)],
        overrides=[
            (
                dt.datetime(2025, 3, 17, 9),
                dt.datetime(2025, 3, 17, 11),
                dt.datetime(2025, 3, 17, 12),
                "Moved",
            )
        ],
    )
    caldav_account.server.put_event(caldav_account.calendar_url, "weekly", series)
    provider = _provider(caldav_account)

    pages = _sync(provider, _work_calendar(provider), None)

    (event,) = [e for page in pages for e in page.upserts]
    assert event.summary == "Weekly sync"
    assert event.recurrence == [
        "RRULE:FREQ=WEEKLY;COUNT=5",
        "EXDATE;TZID=Europe/Berlin:20250310T090000",
    ]
    assert event.ical is not None
    occurrences = recurring_ical_events.of(icalendar.Calendar.from_ical(event.ical)).between(
        dt.datetime(2025, 3, 1, tzinfo=BERLIN), dt.datetime(2025, 4, 30, tzinfo=BERLIN)
    )
    starts = sorted((o["DTSTART"].dt, str(o["SUMMARY"])) for o in occurrences)
    assert starts == [
        (dt.datetime(2025, 3, 3, 9, tzinfo=BERLIN), "Weekly sync"),
        (dt.datetime(2025, 3, 17, 11, tzinfo=BERLIN), "Moved"),
        (dt.datetime(2025, 3, 24, 9, tzinfo=BERLIN), "Weekly sync"),
        (dt.datetime(2025, 3, 31, 9, tzinfo=BERLIN), "Weekly sync"),
    ]


@pytest.mark.parametrize(
    ("partstat", "expected"),
    [
        ("ACCEPTED", "accepted"),
        ("DECLINED", "declined"),
        ("TENTATIVE", "tentative"),
        ("NEEDS-ACTION", "needs_action"),
    ],
)
def test_participation_status_is_the_partstat_of_the_attendee_matching_the_user(
    caldav_account: CalDAVAccount, partstat: str, expected: str
) -> None:
    invitation = sample_event_ics(
        "invite",
        "Invitation",
        dt.datetime(2025, 3, 3, 9),
        dt.datetime(2025, 3, 3, 10),
        tzid="Europe/Berlin",
        attendees={"boss@example.com": "ACCEPTED", "me@example.com": partstat},
    )
    caldav_account.server.put_event(caldav_account.calendar_url, "invite", invitation)
    credentials = caldav_account.credentials | {"email": "me@example.com"}
    provider = CalDAVProvider(credentials)

    pages = _sync(provider, _work_calendar(provider), None)

    assert _upserted(pages)["invite"].participation_status == expected


# -- writes ----------------------------------------------------------------------------


def test_upsert_creates_an_event_that_the_next_sync_returns(
    caldav_account: CalDAVAccount,
) -> None:
    provider = _provider(caldav_account)
    calendar = _work_calendar(provider)
    cursor = _sync(provider, calendar, None)[-1].cursor
    draft = RemoteEvent(
        provider_event_id="",
        ical_uid="written-by-syncd",
        start=dt.datetime(2025, 3, 3, 14, tzinfo=BERLIN),
        end=dt.datetime(2025, 3, 3, 15, tzinfo=BERLIN),
        tzid="Europe/Berlin",
        summary="Written",
        location="Room 2",
    )

    stored = provider.upsert_event(calendar, draft)
    synced = _upserted(_sync(provider, calendar, cursor))["written-by-syncd"]

    assert stored.provider_event_id == f"{_path(caldav_account)}written-by-syncd.ics"
    assert stored.etag == synced.etag
    assert (synced.summary, synced.location, synced.start, synced.tzid) == (
        "Written",
        "Room 2",
        dt.datetime(2025, 3, 3, 14, tzinfo=BERLIN),
        "Europe/Berlin",
    )


def test_upsert_with_the_current_etag_updates_the_event_in_place(
    caldav_account: CalDAVAccount,
) -> None:
    provider = _provider(caldav_account)
    calendar = _work_calendar(provider)
    created = provider.upsert_event(
        calendar,
        RemoteEvent(
            provider_event_id="",
            start=dt.date(2025, 3, 3),
            end=dt.date(2025, 3, 4),
            all_day=True,
            summary="Draft",
        ),
    )
    created.summary = "Final"
    created.ical = None

    updated = provider.upsert_event(calendar, created)

    events = [e for page in _sync(provider, calendar, None) for e in page.upserts]
    assert [(e.provider_event_id, e.summary, e.all_day) for e in events] == [
        (created.provider_event_id, "Final", True)
    ]
    assert updated.etag != created.etag


def test_upsert_with_a_stale_etag_is_refused(caldav_account: CalDAVAccount) -> None:
    provider = _provider(caldav_account)
    calendar = _work_calendar(provider)
    created = provider.upsert_event(
        calendar,
        RemoteEvent(provider_event_id="", start=dt.date(2025, 3, 3), end=dt.date(2025, 3, 4)),
    )
    created.ical = None
    created.summary = "Changed by someone else first"
    provider.upsert_event(calendar, created)
    created.summary = "Written from an old copy"

    with pytest.raises(ProviderError, match="412"):
        provider.upsert_event(calendar, created)


def test_delete_removes_the_event_and_deleting_again_is_fine(
    caldav_account: CalDAVAccount,
) -> None:
    caldav_account.server.put_event(caldav_account.calendar_url, "doomed", _event_ics("doomed"))
    provider = _provider(caldav_account)
    calendar = _work_calendar(provider)
    cursor = _sync(provider, calendar, None)[-1].cursor
    href = f"{_path(caldav_account)}doomed.ics"

    provider.delete_event(calendar, href)
    provider.delete_event(calendar, href)

    assert _deleted(_sync(provider, calendar, cursor)) == [href]


# -- errors ----------------------------------------------------------------------------


def test_refused_credentials_raise_auth_revoked(radicale_htpasswd_server: RadicaleServer) -> None:
    provider = CalDAVProvider(
        {"url": radicale_htpasswd_server.url + "/", "username": HTPASSWD_USER, "password": "wrong"}
    )

    with pytest.raises(AuthRevoked, match="credentials refused"):
        provider.list_calendars()


def test_credentials_that_stop_working_mid_life_raise_auth_revoked(
    radicale_htpasswd_server: RadicaleServer,
) -> None:
    calendar_url = radicale_htpasswd_server.make_calendar(HTPASSWD_USER, "work", "Work")
    provider = CalDAVProvider(
        {"url": calendar_url, "username": HTPASSWD_USER, "password": HTPASSWD_PASSWORD}
    )
    (calendar,) = provider.list_calendars()
    cursor = _sync(provider, calendar, None)[-1].cursor
    provider.auth = (HTPASSWD_USER, "changed-by-the-user")

    with pytest.raises(AuthRevoked):
        _sync(provider, calendar, cursor)


def test_an_unreachable_server_raises_transient_error() -> None:
    provider = CalDAVProvider(
        {"url": f"http://127.0.0.1:{free_port()}/", "username": "u", "password": "p"}
    )
    provider.retry_attempts = 1

    with pytest.raises(TransientError):
        provider.list_calendars()


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (401, b"", AuthRevoked),
        (403, b'<error xmlns="DAV:"><valid-sync-token/></error>', CursorExpired),
        (403, b"", PermissionDenied),
        (404, b"", NotFound),
        (500, b"", TransientError),
        (502, b"", TransientError),
    ],
)
def test_http_status_maps_to_the_shared_error(
    status: int, body: bytes, error_type: Callable[..., Exception]
) -> None:
    assert type(error_for_response(_response(status, body))) is error_type


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_carry_the_retry_after_delay(status: int) -> None:
    error = error_for_response(_response(status, headers={"Retry-After": "7"}))

    assert isinstance(error, RateLimited) and error.retry_after == 7.0


# -- seeding (what benchmarks and demos rely on) ---------------------------------------


def test_events_seeded_into_storage_before_start_are_served() -> None:
    with seeded_radicale(3, user="seeded", calendar="bulk") as (server, calendar_url):
        provider = CalDAVProvider({"url": calendar_url, "username": "seeded", "password": "x"})
        (calendar,) = provider.list_calendars()

        pages = _sync(provider, calendar, None)

    assert calendar.provider_calendar_id == calendar_url
    assert len(_upserted(pages)) == 3
    assert all(e.tzid == "Europe/Berlin" for e in _upserted(pages).values())


def test_floating_times_are_read_in_the_objects_x_wr_timezone(
    caldav_account: CalDAVAccount,
) -> None:
    floating = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\nX-WR-TIMEZONE:Europe/Berlin\r\n"
        "BEGIN:VEVENT\r\nUID:floating\r\nDTSTAMP:20240101T000000Z\r\n"
        "DTSTART:20250303T090000\r\nDTEND:20250303T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    caldav_account.server.put_event(caldav_account.calendar_url, "floating", floating)
    provider = _provider(caldav_account)

    event = _upserted(_sync(provider, _work_calendar(provider), None))["floating"]

    assert (event.start, event.tzid) == (dt.datetime(2025, 3, 3, 9, tzinfo=BERLIN), "Europe/Berlin")


@pytest.mark.slow
def test_the_caldav_benchmark_runs_at_smoke_size() -> None:
    benchmark = REPO_ROOT / "bench" / "caldav_sync.py"

    result = subprocess.run(
        [sys.executable, str(benchmark), "--events", "20", "--skip-vdirsyncer"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "adapter full sync (sync mode)" in result.stdout
    assert "for 20 events" in result.stdout
    assert "no-change incremental (sync mode): 1 request(s)" in result.stdout
