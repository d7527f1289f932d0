"""The CalDAV adapter: discovery, sync (sync-collection or etags) and writes."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, NoReturn
from urllib.parse import quote, urljoin, urlsplit

import requests

from providers.base import (
    RECURRENCE_FREQUENCIES,
    CalendarProvider,
    ChangePage,
    CursorExpired,
    EventWriteSupport,
    InvalidRemoteData,
    NotFound,
    OAuthClient,
    ParticipationStatus,
    PermissionDenied,
    ProviderEndpoints,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    ServiceIdentity,
    TransientError,
)
from providers.caldav.cursor import SyncState
from providers.caldav.errors import error_for_response, is_sync_token_refusal
from providers.caldav.ical import (
    calendar_timezone,
    ical_from_remote_event,
    remote_event_from_ical,
    uid_in,
    vcalendar_of,
    zone_named,
)
from providers.caldav.ical_write import organizer_address, with_fields, with_reply
from providers.caldav.pinning import PUBLIC_ADDRESSES_ONLY, hold_to_public_addresses
from providers.caldav.scope import CredentialScope, Resolver
from providers.caldav.webdav import (
    CALDAV,
    CALENDAR_PROPS,
    DAV,
    DISCOVERY_PROPS,
    SAFE_PATH_CHARACTERS,
    DavResponse,
    Multistatus,
    href_path,
    is_calendar,
    mkcalendar_body,
    multiget_body,
    parse_multistatus,
    propfind_body,
    supports_events,
    sync_collection_body,
)

logger = logging.getLogger("providers.caldav")

#: Items per ChangePage: bounded so the engine commits a big calendar incrementally.
PAGE_SIZE = 500
#: iCloud's CalDAV hosts (caldav.icloud.com and its pNN-caldav.icloud.com partitions).
ICLOUD_HOSTS = frozenset({"icloud.com", "me.com"})
ICLOUD_SUFFIXES = (".icloud.com", ".me.com")
#: Hrefs per calendar-multiget request.
MULTIGET_BATCH_SIZE = 500
#: VALARMs written per event.
MAX_ALARMS = 10

SyncMode = Literal["auto", "sync", "etag"]

#: Redirects followed per request (each hop's host checked by the credential scope).
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_SAFE_FILENAME = re.compile(r"^[A-Za-z0-9@._-]{1,200}$")
_WRITE_PRIVILEGES = {f"{{{DAV}}}write", f"{{{DAV}}}write-content", f"{{{DAV}}}all"}


class _SyncCollectionUnsupported(Exception):
    """The server does not offer REPORT sync-collection on this calendar."""


#: Answers to a sync-collection REPORT that :func:`_raise_sync_report_error` interprets:
#: every 4xx but those whose meaning never depends on the REPORT (401, 404, 410, 429).
_SYNC_REPORT_PASSTHROUGH = frozenset(range(400, 500)) - {401, 404, 410, 429} | {501}
#: Statuses servers answer a sync-token they no longer know with, sometimes with no body.
_TOKEN_REFUSAL_STATUSES = (403, 409, 412)


def _raise_sync_report_error(response: requests.Response, token: str | None) -> NoReturn:
    """An error answer to sync-collection: an expired token, no support, or plain failure.

    Any 4xx carrying ``DAV:valid-sync-token`` (RFC 6578 §3.2) means the token is gone
    (Radicale says 403, Xandikos 412); so does a bare 409/412, or any 403, to a request
    that carried a token. Without a token, 400/403/405/501 mean the REPORT is not offered.
    """
    status = response.status_code
    if is_sync_token_refusal(response.content):
        raise CursorExpired(f"the server refused the sync-token ({status})")
    bare = not response.content.strip()
    if token and status in _TOKEN_REFUSAL_STATUSES and (bare or status == 403):
        raise CursorExpired(f"the server refused the sync-token ({status})")
    if status in (400, 403, 405, 501):
        raise _SyncCollectionUnsupported()
    raise error_for_response(response) or ProviderError(f"sync-collection failed ({status})")


@dataclass
class _FetchedItem:
    """An href's data as fetched; ``gone`` when the server says it no longer exists."""

    href: str
    etag: str | None
    ical_text: str | None
    gone: bool = False


class CalDAVProvider(CalendarProvider):
    """A CalDAV account: credentials ``{"url", "username", "password"}`` (+ optional ``email``).

    ``url`` may be the server root, a principal URL or one calendar's URL (then only that
    calendar is listed). ``sync_mode`` chooses how a *full* sync starts: ``"auto"`` uses
    sync-collection and falls back to etag comparison when the server lacks it; ``"etag"``
    forces the fallback. An existing cursor always continues in its own mode.
    """

    name: ClassVar[str] = "caldav"
    write_support: ClassVar[EventWriteSupport] = EventWriteSupport(
        attendees=True, reminders=MAX_ALARMS, url=True, color=True, private=True, geo=True,
        recurrence=frozenset(RECURRENCE_FREQUENCIES), recurrence_by_day=True,
        participation_status=True, update_external=True, create_calendar=True,
        calendar_color=True,
    )  # fmt: skip

    def __init__(
        self,
        credentials: dict[str, Any],
        endpoints: ProviderEndpoints | None = None,
        oauth_client: OAuthClient | None = None,
        timeout: float = 30.0,
        *,
        sync_mode: SyncMode = "auto",
        page_size: int = PAGE_SIZE,
        resolve: Resolver | None = None,
    ) -> None:
        super().__init__(credentials, endpoints, oauth_client, timeout)
        url = self.credentials.get("url") or self.endpoints.api_base_url
        if not url:
            raise ValueError("CalDAV credentials need a 'url'")
        self.url: str = url
        self.username: str = self.credentials.get("username", "")
        self.sync_mode: SyncMode = sync_mode
        self.page_size = page_size
        self.session = requests.Session()
        # Sent per request, and only where the scope allows (providers.caldav.scope).
        self.auth = (self.username, self.credentials.get("password", "")) if self.username else None
        if public_only := bool(self.credentials.get(PUBLIC_ADDRESSES_ONLY)):
            hold_to_public_addresses(self.session, resolve)  # checked again at every connect
        self.scope = CredentialScope(self.url, resolve, public_only=public_only)
        self.session.headers["User-Agent"] = "syncd-caldav"
        named = (self.username, str(self.credentials.get("email") or ""))
        self._user_addresses = frozenset(name.lower() for name in named if name)

    # -- HTTP ---------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        depth: str | None = None,
        headers: dict[str, str] | None = None,
        passthrough: Collection[int] = (),
    ) -> requests.Response:
        """Send one request (retrying rate limits and transient failures); raise mapped errors.

        Statuses in ``passthrough`` are returned instead of raised, for callers that
        give them a meaning of their own.
        """
        request_headers = dict(headers or {})
        if body is not None:
            request_headers.setdefault("Content-Type", "application/xml; charset=utf-8")
        if depth is not None:
            request_headers["Depth"] = depth

        def attempt() -> requests.Response:
            try:
                response = self._send(method, url, body, request_headers)
            except requests.Timeout as error:
                raise TransientError(f"CalDAV {method} timed out") from error
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                raise TransientError(f"CalDAV {method} connection failed") from error
            if response.status_code in passthrough:
                return response
            refused = error_for_response(response)
            if refused is not None:
                raise refused
            return response

        return self._with_retries(attempt)

    def _send(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> requests.Response:
        """One request, following redirects ourselves: every URL, first and each hop, is
        checked by ``self.scope`` before anything (credentials included) is sent."""
        for _hop in range(MAX_REDIRECTS + 1):
            self.scope.check(url)
            response = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                auth=self.auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            response.close()
            url = urljoin(url, location)
            if response.status_code == 303:
                method, body = "GET", None
        raise TransientError(f"CalDAV {method}: more than {MAX_REDIRECTS} redirects")

    def _propfind(self, url: str, props: Iterable[str], depth: str) -> Multistatus:
        response = self._request("PROPFIND", url, body=propfind_body(props), depth=depth)
        return parse_multistatus(response.content, response.url)

    def _report(self, url: str, body: bytes, depth: str) -> Multistatus:
        response = self._request("REPORT", url, body=body, depth=depth)
        return parse_multistatus(response.content, response.url)

    @staticmethod
    def _url_of(path: str, base_url: str) -> str:
        """The URL of an href path on the host that served ``base_url``."""
        return urljoin(base_url, quote(path, safe=SAFE_PATH_CHARACTERS))

    # -- discovery ------------------------------------------------------------------

    def service_identity(self) -> ServiceIdentity:
        """``apple`` (service ``icloud``) for iCloud's servers; any other CalDAV server
        is ``caldav``, syncd's extension value (Cronofy has none for it)."""
        host = (urlsplit(self.url).hostname or "").lower().rstrip(".")
        if host in ICLOUD_HOSTS or host.endswith(ICLOUD_SUFFIXES):
            return ServiceIdentity("apple", "icloud")
        return ServiceIdentity("caldav", "caldav")

    def profile_name(self) -> str:
        """The username; without one, the principal's displayname."""
        if self.username:
            return self.username
        principal = self._principal_url(self._propfind(self.url, DISCOVERY_PROPS, "0"))
        if principal is not None:
            found = self._propfind(principal, ["D:displayname"], "0")
            for response in found.responses:
                if response.text(f"{{{DAV}}}displayname"):
                    return str(response.text(f"{{{DAV}}}displayname"))
        return urlsplit(self.url).hostname or "caldav"

    @staticmethod
    def _principal_url(found: Multistatus) -> str | None:
        for response in found.responses:
            hrefs = response.hrefs(f"{{{DAV}}}current-user-principal")
            if hrefs:
                return found.absolute_url(hrefs[0])
        return None

    def list_calendars(self) -> list[RemoteCalendar]:
        """RFC 4791 discovery from a root, principal or calendar URL."""
        start = self._propfind(self.url, [*DISCOVERY_PROPS, *CALENDAR_PROPS], "0")
        here = start.responses[0] if start.responses else None
        if here is not None and is_calendar(here):
            return [self._remote_calendar(here, start.base_url, primary=True)]
        homes = [
            start.absolute_url(href)
            for href in (here.hrefs(f"{{{CALDAV}}}calendar-home-set") if here else [])
        ]
        if not homes:
            homes = self._homes_of_principal(start)
        calendars: list[RemoteCalendar] = []
        for home in homes:
            listing = self._propfind(home, CALENDAR_PROPS, "1")
            for response in listing.responses:
                if is_calendar(response) and supports_events(response):
                    calendars.append(
                        self._remote_calendar(response, listing.base_url, primary=not calendars)
                    )
        return calendars

    def _homes_of_principal(self, start: Multistatus) -> list[str]:
        """The calendar-home-set of the principal ``start`` names (or .well-known's)."""
        principal = self._principal_url(start)
        if principal is None:
            well_known = self._propfind(
                urljoin(self.url, "/.well-known/caldav"), DISCOVERY_PROPS, "0"
            )
            principal = self._principal_url(well_known)
        if principal is None:
            raise NotFound("no CalDAV principal found at this URL")
        found = self._propfind(principal, ["C:calendar-home-set"], "0")
        homes = [
            found.absolute_url(href)
            for response in found.responses
            for href in response.hrefs(f"{{{CALDAV}}}calendar-home-set")
        ]
        if not homes:
            raise NotFound("the CalDAV principal has no calendar-home-set")
        return homes

    def _remote_calendar(
        self, response: DavResponse, base_url: str, primary: bool
    ) -> RemoteCalendar:
        privileges = response.props.get(f"{{{DAV}}}current-user-privilege-set")
        readonly = False
        if privileges is not None:
            granted = {p.tag for privilege in privileges for p in privilege}
            readonly = not (granted & _WRITE_PRIVILEGES)
        path = response.href if response.href.endswith("/") else response.href + "/"
        return RemoteCalendar(
            provider_calendar_id=self._url_of(path, base_url),
            name=response.text(f"{{{DAV}}}displayname") or path.rstrip("/").rsplit("/", 1)[-1],
            readonly=readonly,
            primary=primary,
            timezone=calendar_timezone(response.text(f"{{{CALDAV}}}calendar-timezone")),
        )

    # -- sync ---------------------------------------------------------------------

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        """Pages of changes since ``cursor``; raises CursorExpired on an unknown sync-token."""
        state = SyncState.load(cursor) if cursor is not None else None
        if state is not None and state.mode == "etag":
            yield from self._sync_by_etags(calendar, state.etags)
            return
        if state is None and self.sync_mode == "etag":
            yield from self._sync_by_etags(calendar, None)
            return
        try:
            yield from self._sync_collection(calendar, state.token if state else None)
        except _SyncCollectionUnsupported:
            if state is not None or self.sync_mode == "sync":
                raise ProviderError("the server stopped supporting sync-collection") from None
            logger.info("CalDAV server lacks sync-collection; comparing etags instead")
            yield from self._sync_by_etags(calendar, None)

    def _sync_collection(self, calendar: RemoteCalendar, token: str | None) -> Iterator[ChangePage]:
        url = calendar.provider_calendar_id
        body = sync_collection_body(token or "", ["D:getetag", "C:calendar-data"])
        response = self._request(
            "REPORT", url, body=body, depth="0", passthrough=_SYNC_REPORT_PASSTHROUGH
        )
        if response.status_code >= 400:
            _raise_sync_report_error(response, token)
        answer = parse_multistatus(response.content, response.url)
        if not answer.sync_token:
            raise InvalidRemoteData("sync-collection answer carried no sync-token")
        collection_path = href_path(url, url)
        deletions: list[str] = []
        items: list[_FetchedItem] = []
        missing: list[str] = []
        for entry in answer.responses:
            if entry.href.rstrip("/") == collection_path.rstrip("/"):
                continue
            if entry.status == 404:
                deletions.append(entry.href)
            elif entry.text(f"{{{CALDAV}}}calendar-data"):
                items.append(
                    _FetchedItem(
                        entry.href,
                        entry.text(f"{{{DAV}}}getetag"),
                        entry.text(f"{{{CALDAV}}}calendar-data"),
                    )
                )
            elif entry.status is None and not entry.href.endswith("/"):
                missing.append(entry.href)
        final_cursor = SyncState(mode="sync", token=answer.sync_token).dump()
        yield from self._pages(
            calendar, items, missing, deletions, final_cursor, full_sync=token is None
        )

    def _sync_by_etags(
        self, calendar: RemoteCalendar, previous: dict[str, str] | None
    ) -> Iterator[ChangePage]:
        url = calendar.provider_calendar_id
        listing = self._propfind(url, ["D:getetag", "D:resourcetype"], "1")
        current: dict[str, str] = {}
        for entry in listing.responses:
            resourcetype = entry.props.get(f"{{{DAV}}}resourcetype")
            is_collection = resourcetype is not None and any(
                child.tag == f"{{{DAV}}}collection" for child in resourcetype
            )
            etag = entry.text(f"{{{DAV}}}getetag")
            if not is_collection and etag:
                current[entry.href] = etag
        changed = [href for href, etag in current.items() if (previous or {}).get(href) != etag]
        deletions = [href for href in (previous or {}) if href not in current]
        final_cursor = SyncState(mode="etag", etags=current).dump()
        yield from self._pages(
            calendar, [], changed, deletions, final_cursor, full_sync=previous is None
        )

    def _multiget(self, calendar: RemoteCalendar, paths: list[str]) -> Iterator[_FetchedItem]:
        """Fetch items' data; an href the server no longer has comes back with no text."""
        for offset in range(0, len(paths), MULTIGET_BATCH_SIZE):
            batch = paths[offset : offset + MULTIGET_BATCH_SIZE]
            answer = self._report(calendar.provider_calendar_id, multiget_body(batch), "1")
            for entry in answer.responses:
                yield _FetchedItem(
                    entry.href,
                    entry.text(f"{{{DAV}}}getetag"),
                    entry.text(f"{{{CALDAV}}}calendar-data"),
                    gone=entry.status == 404,
                )

    def _pages(
        self,
        calendar: RemoteCalendar,
        items: list[_FetchedItem],
        to_fetch: list[str],
        deletions: list[str],
        final_cursor: str,
        full_sync: bool,
    ) -> Iterator[ChangePage]:
        """Bounded pages: deletions first, then items (fetched lazily); the last is complete."""
        page = ChangePage(full_sync=full_sync)
        size = 0

        def flush() -> Iterator[ChangePage]:
            nonlocal page, size
            if size >= self.page_size:
                yield page
                page, size = ChangePage(full_sync=full_sync), 0

        for href in deletions:
            page.deletions.append(href)
            size += 1
            yield from flush()
        zone = zone_named(calendar.timezone)  # None: floating times stay floating
        for item in _chain(items, self._multiget(calendar, to_fetch)):
            if item.gone:
                page.deletions.append(item.href)
            elif not item.ical_text:
                logger.warning(
                    "skipping CalDAV item %s: the server sent no calendar-data", item.href
                )
                page.skipped += 1
            else:
                try:
                    event = remote_event_from_ical(
                        item.href, item.etag, item.ical_text, self._user_addresses, zone
                    )
                except Exception as error:  # one bad event must never abort the calendar
                    logger.warning("skipping unusable CalDAV item %s: %s", item.href, error)
                    page.skipped += 1
                else:
                    if event is not None:  # None: a VTODO or VJOURNAL, not ours to sync
                        page.upserts.append(event)
            size += 1
            yield from flush()
        page.cursor = final_cursor
        page.complete = True
        yield page

    # -- writes -------------------------------------------------------------------

    def upsert_event(self, calendar: RemoteCalendar, event: RemoteEvent) -> RemoteEvent:
        """PUT the event: at its own href when it has one here, else at ``<uid>.ics``."""
        collection_path = href_path(calendar.provider_calendar_id, calendar.provider_calendar_id)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if event.provider_event_id.startswith(collection_path) and event.provider_event_id.endswith(
            ".ics"
        ):
            path = event.provider_event_id
            if event.etag:
                headers["If-Match"] = event.etag
        else:
            path = None
        if event.ical:
            ical_text = event.ical
            uid = event.ical_uid or uid_in(ical_text)
        else:
            uid = event.ical_uid or f"{uuid.uuid4()}@syncd"
            ical_text = ical_from_remote_event(event, uid, organizer_address(self.credentials))
        if path is None:
            path = collection_path.rstrip("/") + "/" + _filename_for(uid)
        response = self._request(
            "PUT",
            self._url_of(path, calendar.provider_calendar_id),
            body=ical_text.encode("utf-8"),
            headers=headers,
        )
        stored = remote_event_from_ical(
            path,
            response.headers.get("ETag"),
            ical_text,
            self._user_addresses,
            zone_named(calendar.timezone),
        )
        if stored is None:
            raise InvalidRemoteData("the written calendar object holds no VEVENT")
        return stored

    @classmethod
    def write_support_for(cls, credentials: Mapping[str, Any]) -> EventWriteSupport:
        """No address to be ORGANIZER with: attendees are refused at the API."""
        if organizer_address(credentials) is None:
            return replace(cls.write_support, attendees=False)
        return cls.write_support

    def _fetch_item(self, calendar: RemoteCalendar, href: str) -> tuple[str, str | None]:
        """One calendar object's text and ETag; NotFound when it is gone."""
        url = self._url_of(href, calendar.provider_calendar_id)
        response = self._request("GET", url, passthrough=(404, 410))
        if response.status_code in (404, 410):
            raise NotFound(f"no calendar object at {href}")
        return response.text, response.headers.get("ETag")

    def _put_item(
        self, calendar: RemoteCalendar, href: str, ical_text: str, etag: str | None
    ) -> RemoteEvent:
        """PUT the changed object back, only over the version we read (If-Match)."""
        headers = {"Content-Type": "text/calendar; charset=utf-8"} | (
            {"If-Match": etag} if etag else {}
        )
        url = self._url_of(href, calendar.provider_calendar_id)
        response = self._request("PUT", url, body=ical_text.encode("utf-8"), headers=headers)
        zone = zone_named(calendar.timezone)
        etag = response.headers.get("ETag")
        stored = remote_event_from_ical(href, etag, ical_text, self._user_addresses, zone)
        if stored is None:
            raise InvalidRemoteData("the written calendar object holds no VEVENT")
        return stored

    def update_event_fields(
        self, calendar: RemoteCalendar, event: RemoteEvent, fields: frozenset[str]
    ) -> RemoteEvent:
        """Read the object, replace only ``fields`` in its VEVENT, PUT it back (If-Match)."""
        ical_text, etag = self._fetch_item(calendar, event.provider_event_id)
        written = vcalendar_of(event, uid_in(ical_text), organizer_address(self.credentials))
        changed = with_fields(ical_text, written.walk("VEVENT")[0], fields)
        return self._put_item(calendar, event.provider_event_id, changed, etag)

    def set_participation_status(
        self, calendar: RemoteCalendar, provider_event_id: str, status: ParticipationStatus
    ) -> None:
        """PARTSTAT of the account's own ATTENDEE; the server's scheduling (if any) tells
        the organizer."""
        ical_text, etag = self._fetch_item(calendar, provider_event_id)
        replied = with_reply(ical_text, self._user_addresses, status)
        self._put_item(calendar, provider_event_id, replied, etag)

    def create_calendar(self, name: str, color: str | None = None) -> RemoteCalendar:
        """MKCALENDAR in the account's calendar home, under a fresh path."""
        start = self._propfind(self.url, [*DISCOVERY_PROPS, *CALENDAR_PROPS], "0")
        here = start.responses[0] if start.responses else None
        homes = [
            start.absolute_url(href)
            for href in (here.hrefs(f"{{{CALDAV}}}calendar-home-set") if here else [])
        ]
        if not homes and here is not None and is_calendar(here):
            raise PermissionDenied("the profile's URL is one calendar, not a calendar home")
        home = (homes or self._homes_of_principal(start))[0]
        url = urljoin(home if home.endswith("/") else home + "/", f"{uuid.uuid4()}/")
        self._request("MKCALENDAR", url, body=mkcalendar_body(name, color))
        return RemoteCalendar(provider_calendar_id=url, name=name)

    def delete_event(self, calendar: RemoteCalendar, provider_event_id: str) -> None:
        """DELETE the href; one that is already gone is fine."""
        self._request(
            "DELETE",
            self._url_of(provider_event_id, calendar.provider_calendar_id),
            passthrough=(404, 410),
        )

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


def _chain(first: list[_FetchedItem], rest: Iterator[_FetchedItem]) -> Iterator[_FetchedItem]:
    yield from first
    yield from rest


def _filename_for(uid: str) -> str:
    """``<uid>.ics`` when the UID is a safe file name, else a stable hash of it."""
    if _SAFE_FILENAME.match(uid):
        return f"{uid}.ics"
    return hashlib.sha256(uid.encode()).hexdigest()[:40] + ".ics"
