"""Microsoft 365 / Outlook adapter: msal for tokens, plain HTTP for Microsoft Graph.

Sync uses Graph's calendarView delta over a rolling window: the first round lists every
occurrence in ``[now - history_days, now + horizon_days)`` page by page
(``@odata.nextLink``), the last page carries an ``@odata.deltaLink`` that later syncs
call as-is to get only what changed (removals as ``@removed``). Each page's cursor is
the link that follows it, so a crashed process resumes right after the last committed
page.

Decisions worth knowing:

* calendarView expands recurring series, so every occurrence and exception is its own
  single RemoteEvent (no recurrence lines); the series master id is kept in
  ``extra["series_master_id"]``. The engine never expands Microsoft series itself.
* The window is fixed when a full sync starts and stored in the cursor (Graph's delta
  token hides it). Once its end is less than ``horizon_days - window_refresh_days``
  ahead, the cursor counts as expired: the engine runs a new full sync, whose
  generation swap moves the window without a moment of missing events.
* Times are requested in UTC (``Prefer: outlook.timezone="UTC"``) but any zone Graph
  sends (IANA or Windows names) is honoured. All-day events are dates.
* ``showAs: free`` is transparent, ``showAs: tentative`` a tentative event; a declined
  invitation keeps its time but is ``participation_status="declined"``; an event the
  organizer cancelled (``isCancelled``) is a deletion. Unknown enum values count as busy.
* Graph chooses event ids. ``upsert_event`` updates the event with that id when there is
  one and otherwise creates it with a ``transactionId`` derived from our id, so a
  retried create never makes a duplicate; the returned RemoteEvent carries Graph's id.
* msal throttles its own token requests (it replays a 5xx or 429 from the authority for
  the Retry-After time, 5 s by default): a refresh that fails that way surfaces as
  TransientError and the engine retries on its next run.
* TLS: set ``SYNCD_MICROSOFT_CA_BUNDLE`` to a PEM file to trust a private CA (the local
  test authority and Graph emulator, or a TLS-intercepting proxy). With it set, the
  environment's proxy and CA settings are ignored so only that bundle is trusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msal
import requests
from tzlocal.windows_tz import win_tz

from providers.base import (
    AuthRevoked,
    ChangePage,
    Conferencing,
    CursorExpired,
    EventStatus,
    InvalidRemoteData,
    NotFound,
    OAuthCalendarProvider,
    OAuthClient,
    ParticipationStatus,
    PermissionDenied,
    ProviderEndpoints,
    ProviderError,
    PushCallback,
    PushNotification,
    PushRequest,
    PushWatch,
    RateLimited,
    RemoteCalendar,
    RemoteEvent,
    TransientError,
)
from providers.retry import parse_retry_after

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_API_BASE_URL = "https://graph.microsoft.com/v1.0/"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"
#: Scopes asked for; msal adds the reserved ``offline_access openid profile`` itself (and
#: refuses them in its argument), so ``offline_access`` is always part of the request.
SCOPES = ("Calendars.ReadWrite", "User.Read", "OnlineMeetings.ReadWrite")
#: PEM bundle trusted for the authority and Graph instead of the system store.
CA_BUNDLE_ENV = "SYNCD_MICROSOFT_CA_BUNDLE"
TEAMS = "teamsForBusiness"
#: Longest validationToken echoed back (Graph's are ~100 characters).
MAX_VALIDATION_TOKEN = 4096

#: Bumping this makes every stored cursor unusable, forcing a full resync.
CURSOR_VERSION = 1

#: A token this close to its expiry is refreshed before use.
_EXPIRY_MARGIN = dt.timedelta(seconds=60)
_REVOKED_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})
_REVOKED_AADSTS = ("AADSTS700082", "AADSTS50173")
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_CURSOR_GONE_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
_PARTICIPATION: dict[str, ParticipationStatus] = {
    "organizer": "accepted",
    "accepted": "accepted",
    "tentativelyaccepted": "tentative",
    "declined": "declined",
    "notresponded": "needs_action",
    "none": "unknown",
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class _BadRequest(ProviderError):
    """HTTP 400: Graph rejected a parameter (e.g. a malformed id or a token it dropped)."""


def token_error(result: dict[str, Any]) -> ProviderError:
    """What an msal error dict means for the profile: the one place AAD errors are read.

    Refused grants disconnect the profile; throttling and outages are retried; anything
    else (a misconfigured client, say) fails the run without disconnecting anyone.
    """
    error = result.get("error")
    code = str(error if isinstance(error, str) else "").lower()
    description = str(result.get("error_description") or "")
    codes = {f"AADSTS{c}" for c in result.get("error_codes") or [] if isinstance(c, int)}
    if code in _REVOKED_ERRORS or codes & set(_REVOKED_AADSTS):
        return AuthRevoked(f"Microsoft refused the grant ({code}: {description.split(':')[0]})")
    if any(description.startswith(prefix) for prefix in _REVOKED_AADSTS):
        return AuthRevoked(f"Microsoft refused the grant ({description.split(':')[0]})")
    if code in _TRANSIENT_ERRORS or not code:
        # No OAuth error code at all: a proxy page or a throttling body, not a verdict.
        return TransientError(f"Microsoft token endpoint failed temporarily ({code or 'no code'})")
    return ProviderError(f"Microsoft token endpoint refused the request ({code})")


def http_error(status: int, headers: Any, body: bytes | str | None) -> ProviderError:
    """Translate one failed Graph response into the shared adapter errors."""
    code = _graph_error_code(body)
    if code.lower() in _CURSOR_GONE_CODES or status == 410:
        return CursorExpired(f"Microsoft requires a full sync ({code or status})")
    if status in (429, 503):
        return RateLimited(
            f"Microsoft Graph throttled the request ({status})",
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )
    if status == 401:
        return AuthRevoked("Microsoft Graph rejected a freshly refreshed access token")
    if status == 403:
        return PermissionDenied(f"Microsoft Graph forbade the request ({code})")
    if status == 404:
        return NotFound(f"Microsoft Graph has no such calendar or event ({code})")
    if status == 400:
        return _BadRequest(f"Microsoft Graph rejected the request ({code})")
    if status >= 500:
        return TransientError(f"Microsoft Graph server error {status} ({code})")
    return ProviderError(f"unexpected Microsoft Graph response {status} ({code})")


def _graph_error_code(body: bytes | str | None) -> str:
    try:
        error = json.loads(body or b"{}").get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _session(ca_bundle: str | None) -> requests.Session:
    """A requests session trusting ``ca_bundle`` alone when one is configured."""
    session = requests.Session()
    if ca_bundle:
        session.verify = ca_bundle
        session.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy must not override it
    return session


def _authority(endpoints: ProviderEndpoints) -> str:
    """The msal authority (``https://host/tenant``) behind the configured token URLs."""
    for url in (endpoints.token_url, endpoints.authorize_url):
        if url:
            parts = urlsplit(url)
            tenant = parts.path.strip("/").split("/")[0]
            if tenant:
                return f"{parts.scheme}://{parts.netloc}/{tenant}"
    return DEFAULT_AUTHORITY


def _msal_app(
    oauth_client: OAuthClient, endpoints: ProviderEndpoints, timeout: float
) -> msal.ConfidentialClientApplication:
    authority = _authority(endpoints)
    well_known = urlsplit(authority).hostname in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
    options: dict[str, Any] = {}
    if not well_known:
        # An operator-chosen authority (a sovereign cloud, the local test authority):
        # there is nothing at Microsoft to validate it against.
        options.update(instance_discovery=False, validate_authority=False)
    try:
        return msal.ConfidentialClientApplication(
            oauth_client.client_id,
            client_credential=oauth_client.client_secret or None,
            authority=authority,
            http_client=_session(os.environ.get(CA_BUNDLE_ENV)),
            timeout=timeout,
            **options,
        )
    except (ValueError, RuntimeError, requests.RequestException) as exc:
        raise TransientError(f"Microsoft authority discovery failed: {type(exc).__name__}") from exc


def _call_msal(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one msal token request; transport failures and 5xx become TransientError."""
    try:
        result = call()
    except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as exc:
        raise TransientError(f"Microsoft token request failed: {type(exc).__name__}") from exc
    if not isinstance(result, dict) or "error" in result or "access_token" not in result:
        raise token_error(result if isinstance(result, dict) else {})
    return result


def _credentials_from_token(result: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    expires_in = float(result.get("expires_in") or 3600)
    credentials = dict(previous)
    credentials.update(
        access_token=result["access_token"],
        refresh_token=result.get("refresh_token") or previous.get("refresh_token"),
        expiry=(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)).isoformat(),
    )
    return credentials


class MicrosoftProvider(OAuthCalendarProvider):
    """Outlook calendars through Microsoft Graph v1.0."""

    name: ClassVar[str] = "microsoft"
    supports_push: ClassVar[bool] = True
    #: Longest subscription asked for, in minutes: Graph's documented limit for Outlook
    #: events was 4230 (~3 days) and is 10080 now; the smaller one works everywhere.
    max_subscription_minutes: int = 4230
    #: Items per delta page (``Prefer: odata.maxpagesize``).
    page_size: int = 100
    #: The synced window: this many days back and ahead of the start of a full sync,
    #: matching the engine's default expansion window.
    history_days: int = 90
    horizon_days: int = 400
    #: A window whose end has come this many days closer than ``horizon_days`` is renewed
    #: by a full sync.
    window_refresh_days: int = 30

    def __init__(
        self,
        credentials: dict[str, Any],
        endpoints: ProviderEndpoints | None = None,
        oauth_client: OAuthClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(credentials, endpoints, oauth_client, timeout)
        base = self.endpoints.api_base_url or DEFAULT_API_BASE_URL
        self.api_base_url = base if base.endswith("/") else base + "/"
        self._http = _session(os.environ.get(CA_BUNDLE_ENV))
        self._app: msal.ConfidentialClientApplication | None = None
        self._refreshed = False
        self._persisted = dict(self.credentials)

    # -- tokens ------------------------------------------------------------

    def _access_token(self) -> str:
        token = self.credentials.get("access_token")
        expiry = _parse_expiry(self.credentials.get("expiry"))
        if token and (expiry is None or expiry - _EXPIRY_MARGIN > dt.datetime.now(dt.UTC)):
            return str(token)
        return self._refresh()

    def _refresh(self) -> str:
        refresh_token = self.credentials.get("refresh_token")
        if not refresh_token:
            raise AuthRevoked("no Microsoft refresh token stored")
        if self._app is None:
            self._app = _msal_app(self.oauth_client, self.endpoints, self.timeout)
        app = self._app
        result = _call_msal(lambda: app.acquire_token_by_refresh_token(refresh_token, list(SCOPES)))
        self.credentials = _credentials_from_token(result, self.credentials)
        self._refreshed = True
        return str(self.credentials["access_token"])

    def refreshed_credentials(self) -> dict[str, Any] | None:
        if self.credentials == self._persisted:
            return None
        self._persisted = dict(self.credentials)
        return dict(self.credentials)

    # -- HTTP --------------------------------------------------------------

    def _url(self, path: str) -> str:
        return (
            path
            if path.startswith("https://") or path.startswith("http://")
            else (self.api_base_url + path)
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        prefer: str | None = None,
    ) -> dict[str, Any] | None:
        """One Graph request, retried per the shared policy; a 401 refreshes once."""

        def once() -> dict[str, Any] | None:
            response = self._exchange(method, path, params, body, prefer)
            if response.status_code == 401 and not self._refreshed:
                self._refresh()
                response = self._exchange(method, path, params, body, prefer)
            if response.status_code >= 400:
                raise http_error(response.status_code, response.headers, response.content)
            if response.status_code == 204 or not response.content:
                return None
            try:
                payload = response.json()
            except ValueError as exc:
                raise TransientError(
                    "Microsoft Graph answered with a body that is not JSON"
                ) from exc
            if not isinstance(payload, dict):
                raise TransientError("Microsoft Graph answered with a body that is not an object")
            return payload

        return self._retrying(once)

    def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        prefer: str | None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"}
        if prefer:
            headers["Prefer"] = prefer
        try:
            return self._http.request(
                method, self._url(path), params=params, json=body, headers=headers,
                timeout=self.timeout,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise TransientError(
                f"network failure talking to Microsoft Graph: {type(exc).__name__}"
            ) from exc

    def _retrying(self, call: Callable[[], T]) -> T:
        return self._with_retries(call)

    def _get(self, path: str, **options: Any) -> dict[str, Any]:
        payload = self._send("GET", path, **options)
        if payload is None:
            raise TransientError("Microsoft Graph answered a read with no body")
        return payload

    # -- calendars ---------------------------------------------------------

    def profile_name(self) -> str:
        me = self._get("me")
        name = me.get("mail") or me.get("userPrincipalName")
        if not name:
            raise InvalidRemoteData("/me has neither mail nor userPrincipalName")
        return str(name)

    def list_calendars(self) -> list[RemoteCalendar]:
        calendars: list[RemoteCalendar] = []
        link: str | None = "me/calendars"
        while link:
            response = self._get(link)
            for entry in _items(response):
                try:
                    calendars.append(_calendar_from_graph(entry))
                except (KeyError, TypeError):
                    log.warning("skipping malformed Microsoft calendar %r", entry.get("id"))
            link = response.get("@odata.nextLink")
        return calendars

    # -- events: reading ---------------------------------------------------

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        state = _decode_cursor(cursor)
        now = dt.datetime.now(dt.UTC)
        if state:
            window_end = dt.datetime.fromisoformat(state["window_end"])
            minimum = now + dt.timedelta(days=self.horizon_days - self.window_refresh_days)
            if state.get("delta") and window_end < minimum:
                raise CursorExpired("the synced window has fallen behind: a full sync moves it")
            link: str = state["link"]
            params: dict[str, str] | None = None
            full = bool(state.get("full"))
        else:
            today = dt.datetime.combine(now.date(), dt.time(), dt.UTC)
            window_start = today - dt.timedelta(days=self.history_days)
            window_end = today + dt.timedelta(days=self.horizon_days)
            link = (
                f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}/calendarView/delta"
            )
            params = {
                "startDateTime": _graph_utc(window_start),
                "endDateTime": _graph_utc(window_end),
            }
            full = True
        prefer = f'outlook.timezone="UTC", odata.maxpagesize={self.page_size}'
        while True:
            try:
                response = self._get(link, params=params, prefer=prefer)
            except (_BadRequest, NotFound) as exc:
                if params is None:  # a stored link Graph no longer accepts
                    raise CursorExpired("Microsoft no longer accepts the stored link") from exc
                raise
            page = self._change_page(calendar, response, full)
            next_link = response.get("@odata.nextLink")
            if next_link:
                page.cursor = _encode_cursor(
                    {"link": next_link, "full": full, "window_end": window_end.isoformat()}
                )
                yield page
                link, params = str(next_link), None
                continue
            delta_link = response.get("@odata.deltaLink")
            if not delta_link:
                raise InvalidRemoteData("last delta page carried no @odata.deltaLink")
            page.cursor = _encode_cursor(
                {"link": delta_link, "delta": True, "window_end": window_end.isoformat()}
            )
            page.complete = True
            yield page
            return

    def _change_page(
        self, calendar: RemoteCalendar, response: dict[str, Any], full: bool
    ) -> ChangePage:
        page = ChangePage(full_sync=full)
        for item in _items(response, tolerate_non_dicts=True):
            try:
                if not isinstance(item, dict):
                    raise InvalidRemoteData("event is not an object")
                if "@removed" in item or item.get("isCancelled") is True:
                    page.deletions.append(_required_str(item, "id"))
                else:
                    page.upserts.append(event_from_graph(item))
            except InvalidRemoteData as exc:
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "skipping malformed Microsoft event %r in calendar %r: %s",
                    item_id,
                    calendar.provider_calendar_id,
                    exc,
                )
                page.skipped += 1
        return page

    # -- events: writing ---------------------------------------------------

    def upsert_event(self, calendar: RemoteCalendar, event: RemoteEvent) -> RemoteEvent:
        """Update the Graph event with this id, or create it (idempotently) when there is none."""
        body = event_to_graph(event)
        calendar_path = f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}/events"
        try:
            stored = self._send(
                "PATCH", f"{calendar_path}/{quote(event.provider_event_id, safe='')}", body=body
            )
        except (NotFound, _BadRequest):
            body["transactionId"] = transaction_id(event.provider_event_id)
            stored = self._send("POST", calendar_path, body=body)
        if stored is None:
            raise InvalidRemoteData("Microsoft Graph returned no event after a write")
        return event_from_graph(stored)

    def delete_event(self, calendar: RemoteCalendar, provider_event_id: str) -> None:
        path = (
            f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}"
            f"/events/{quote(provider_event_id, safe='')}"
        )
        try:
            self._send("DELETE", path)
        except (NotFound, _BadRequest):
            log.info("Microsoft event %r was already gone", provider_event_id)

    def create_integrated_conference(
        self, calendar: RemoteCalendar, event: RemoteEvent
    ) -> Conferencing | None:
        """Turn the event into a Teams meeting; ``None`` while Graph has no join link yet.

        Idempotent: an event that is already an online meeting is only re-read.
        """
        path = (
            f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}"
            f"/events/{quote(event.provider_event_id, safe='')}"
        )
        current = self._get(path)
        if not current.get("isOnlineMeeting"):
            patched = self._send(
                "PATCH", path, body={"isOnlineMeeting": True, "onlineMeetingProvider": TEAMS}
            )
            current = patched or self._get(path)
            if not current.get("isOnlineMeeting"):
                raise PermissionDenied("Microsoft did not make the event a Teams meeting")
        return _conferencing(current)

    # -- push --------------------------------------------------------------

    def watch_calendar(
        self,
        calendar: RemoteCalendar,
        channel_id: str,
        token: str,
        callback_url: str,
        ttl: dt.timedelta,
    ) -> PushWatch:
        """``POST /subscriptions`` on the calendar's events; ``token`` is the clientState.

        Graph validates ``callback_url`` before answering (it must echo ``validationToken``
        as text/plain within 10 s), so a receiver that is not reachable fails here.
        """
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": callback_url,
            "resource": f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}/events",
            "expirationDateTime": _graph_utc(self._subscription_expiry(ttl)),
            "clientState": token,
        }
        subscription = self._send("POST", "subscriptions", body=body) or {}
        subscription_id = subscription.get("id")
        if not isinstance(subscription_id, str) or not subscription_id:
            raise InvalidRemoteData("Graph created a subscription without an id")
        return PushWatch(subscription_id, self._expiry_of(subscription, ttl))

    def renew_watch(self, provider_resource_id: str, ttl: dt.timedelta) -> dt.datetime:
        """``PATCH /subscriptions/{id}`` with a later expirationDateTime."""
        subscription = self._send(
            "PATCH",
            f"subscriptions/{quote(provider_resource_id, safe='')}",
            body={"expirationDateTime": _graph_utc(self._subscription_expiry(ttl))},
        )
        return self._expiry_of(subscription or {}, ttl)

    def stop_watch(self, channel_id: str, provider_resource_id: str) -> None:
        """``DELETE /subscriptions/{id}``; one Graph no longer knows counts as stopped."""
        try:
            self._send("DELETE", f"subscriptions/{quote(provider_resource_id, safe='')}")
        except (NotFound, _BadRequest):
            log.info("Graph subscription %r was already gone", provider_resource_id)

    @classmethod
    def parse_push_notification(cls, request: PushRequest) -> PushCallback:
        """Graph's validation handshake (echo ``validationToken``) or a batch of notifications.

        Graph wants the handshake answered as text/plain within 10 s and notifications
        with a 202 within 3 s. An entry that is not an object, or has no subscription id,
        names no channel (it counts as unknown).
        """
        token = request.query.get("validationToken")
        if token is not None:
            if not token or len(token) > MAX_VALIDATION_TOKEN:
                raise InvalidRemoteData("unusable validationToken")
            return PushCallback(handshake_reply=token)
        if request.method != "POST":
            return PushCallback()
        return PushCallback(
            notifications=tuple(_notification(item) for item in _notification_batch(request.body)),
            accepted_status=202,
        )

    def _subscription_expiry(self, ttl: dt.timedelta) -> dt.datetime:
        longest = dt.timedelta(minutes=self.max_subscription_minutes)
        return dt.datetime.now(dt.UTC) + min(ttl, longest)

    def _expiry_of(self, subscription: dict[str, Any], ttl: dt.timedelta) -> dt.datetime:
        """The expiry Graph granted (it may shorten the one asked for)."""
        granted = _parse_optional_datetime(subscription.get("expirationDateTime"))
        if granted is None:
            return self._subscription_expiry(ttl)
        return granted if granted.tzinfo else granted.replace(tzinfo=dt.UTC)

    # -- OAuth -------------------------------------------------------------

    @classmethod
    def authorization_url(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, state: str
    ) -> str:
        app = _msal_app(oauth_client, endpoints, 30.0)
        with warnings.catch_warnings():
            # msal prefers initiate_auth_code_flow, whose PKCE state would have to travel
            # from here to exchange_code; the contract carries only ``state``.
            warnings.simplefilter("ignore", DeprecationWarning)
            url = app.get_authorization_request_url(
                list(SCOPES), state=state, redirect_uri=oauth_client.redirect_uri
            )
        return str(url)

    @classmethod
    def exchange_code(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, code: str
    ) -> dict[str, Any]:
        app = _msal_app(oauth_client, endpoints, 30.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see authorization_url
            result = _call_msal(
                lambda: app.acquire_token_by_authorization_code(
                    code, list(SCOPES), redirect_uri=oauth_client.redirect_uri
                )
            )
        credentials = _credentials_from_token(result, {})
        provider = cls(credentials, endpoints=endpoints, oauth_client=oauth_client)
        credentials["email"] = provider.profile_name()
        return credentials


# ---------------------------------------------------------------------------
# Mapping between Graph resources and the shared dataclasses
# ---------------------------------------------------------------------------


def _notification_batch(body: bytes | None) -> list[Any]:
    """The ``value`` array of a Graph notification body; InvalidRemoteData when not one."""
    if body is None:
        raise InvalidRemoteData("notification body too large")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidRemoteData("notification body is not JSON") from exc
    value = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(value, list) or not value:
        raise InvalidRemoteData("notification body has no value entries")
    return value


def _notification(item: Any) -> PushNotification:
    entry = item if isinstance(item, dict) else {}
    subscription_id = entry.get("subscriptionId")
    client_state = entry.get("clientState")
    return PushNotification(
        provider_resource_id=subscription_id if isinstance(subscription_id, str) else None,
        secret=client_state if isinstance(client_state, str) else None,
        find_by="provider_resource_id",
    )


def _items(response: dict[str, Any], tolerate_non_dicts: bool = False) -> list[Any]:
    value = response.get("value")
    if not isinstance(value, list):
        return []
    return value if tolerate_non_dicts else [item for item in value if isinstance(item, dict)]


def _calendar_from_graph(entry: dict[str, Any]) -> RemoteCalendar:
    providers = entry.get("allowedOnlineMeetingProviders") or []
    return RemoteCalendar(
        provider_calendar_id=str(entry["id"]),
        name=str(entry.get("name") or entry["id"]),
        readonly=not entry.get("canEdit", True),
        primary=bool(entry.get("isDefaultCalendar", False)),
        integrated_conferencing_available=TEAMS in providers,
    )


def event_from_graph(item: Any) -> RemoteEvent:
    """One Graph event (a single event, occurrence or exception) as a RemoteEvent."""
    if not isinstance(item, dict):
        raise InvalidRemoteData("event is not an object")
    event_id = _required_str(item, "id")
    all_day = item.get("isAllDay") is True
    start = _parse_graph_time(item.get("start"), all_day)
    end = _parse_graph_time(item.get("end"), all_day)
    if end < start:  # type: ignore[operator]
        raise InvalidRemoteData("event ends before it starts")
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    body = item.get("body") if isinstance(item.get("body"), dict) else {}
    extra: dict[str, Any] = {}
    if item.get("seriesMasterId"):
        extra["series_master_id"] = item["seriesMasterId"]
    if item.get("type"):
        extra["type"] = item["type"]
    return RemoteEvent(
        provider_event_id=event_id,
        start=start,
        end=end,
        ical_uid=item.get("iCalUId"),
        tzid=None if all_day else _zone_name(item.get("originalStartTimeZone")),
        all_day=all_day,
        summary=str(item.get("subject") or ""),
        description=str(body.get("content") or item.get("bodyPreview") or ""),
        location=str(location.get("displayName") or ""),
        status=_status(item),
        transparency="transparent" if item.get("showAs") == "free" else "opaque",
        participation_status=_participation(item),
        conferencing=_conferencing(item),
        updated=_parse_optional_datetime(item.get("lastModifiedDateTime")),
        etag=item.get("@odata.etag") or item.get("changeKey"),
        extra=extra,
    )


def _status(item: dict[str, Any]) -> EventStatus:
    return "tentative" if item.get("showAs") == "tentative" else "confirmed"


def _participation(item: dict[str, Any]) -> ParticipationStatus:
    status = item.get("responseStatus")
    response = status.get("response") if isinstance(status, dict) else None
    if item.get("isOrganizer") is True and response in (None, "none", "organizer"):
        return "accepted"
    return _PARTICIPATION.get(str(response).lower(), "unknown")


def _conferencing(item: dict[str, Any]) -> Conferencing | None:
    meeting = item.get("onlineMeeting")
    join_url = meeting.get("joinUrl") if isinstance(meeting, dict) else None
    if not join_url:
        return None
    provider = item.get("onlineMeetingProvider")
    return Conferencing(
        provider_description="Microsoft Teams" if provider in (TEAMS, None) else str(provider),
        join_url=str(join_url),
        provider_meeting_id=meeting.get("conferenceId"),
    )


def _zone(name: Any) -> ZoneInfo | None:
    """A ZoneInfo for an IANA or Windows zone name Graph uses; None when unknown."""
    if not isinstance(name, str) or not name:
        return None
    if name in ("UTC", "tzone://Microsoft/Utc"):
        return ZoneInfo("UTC")
    for candidate in (win_tz.get(name), name):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return None


def _zone_name(name: Any) -> str | None:
    zone = _zone(name)
    return zone.key if zone is not None else None


def _parse_graph_time(value: Any, all_day: bool) -> dt.datetime | dt.date:
    """A Graph dateTimeTimeZone as an aware datetime, or a date for all-day events."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise InvalidRemoteData("time is not a dateTimeTimeZone")
    text = value["dateTime"]
    if "." in text:  # Graph sends seven fractional digits; Python reads at most six
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRemoteData(f"unparseable time {value!r}") from exc
    if all_day:
        return moment.date()
    if moment.tzinfo is None:
        zone = _zone(value.get("timeZone") or "UTC")
        if zone is None:
            raise InvalidRemoteData(f"unknown time zone {value.get('timeZone')!r}")
        moment = moment.replace(tzinfo=zone)
    return moment


def _parse_optional_datetime(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _required_str(item: Any, key: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value:
        raise InvalidRemoteData(f"missing {key}")
    return value


def transaction_id(provider_event_id: str) -> str:
    """A stable Graph ``transactionId`` for our id, so retried creates are deduplicated."""
    return "syncd-" + hashlib.sha256(provider_event_id.encode()).hexdigest()[:32]


def event_to_graph(event: RemoteEvent) -> dict[str, Any]:
    """The Graph event body for a RemoteEvent we write."""

    def when(value: dt.datetime | dt.date) -> dict[str, str]:
        if event.all_day or not isinstance(value, dt.datetime):
            day = value.date() if isinstance(value, dt.datetime) else value
            return {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": "UTC"}
        zone = event.tzid if event.tzid and _zone(event.tzid) else "UTC"
        local = value.astimezone(ZoneInfo(zone)) if value.tzinfo else value
        return {"dateTime": local.replace(tzinfo=None).isoformat(), "timeZone": zone}

    body: dict[str, Any] = {
        "subject": event.summary,
        "body": {"contentType": "text", "content": event.description},
        "location": {"displayName": event.location},
        "start": when(event.start),
        "end": when(event.end),
        "isAllDay": event.all_day,
        "showAs": "free"
        if event.transparency == "transparent"
        else ("tentative" if event.status == "tentative" else "busy"),
    }
    if event.recurrence:
        body["recurrence"] = recurrence_to_graph(event.recurrence, event.start, event.tzid)
    return body


def recurrence_to_graph(
    lines: list[str], start: dt.datetime | dt.date, tzid: str | None
) -> dict[str, Any]:
    """A Graph patternedRecurrence for a daily or weekly RRULE; other rules are refused."""
    rules = [line for line in lines if line.upper().startswith("RRULE:")]
    if len(rules) != 1 or len(lines) != 1:
        raise PermissionDenied("Microsoft takes exactly one RRULE and no EXDATE/RDATE lines")
    parts = dict(part.split("=", 1) for part in rules[0][6:].upper().split(";") if "=" in part)
    frequency = parts.get("FREQ")
    if frequency not in ("DAILY", "WEEKLY") or set(parts) - {
        "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST"
    }:  # fmt: skip
        raise PermissionDenied(f"Microsoft adapter cannot write the rule {rules[0]!r}")
    local_start = (
        start.astimezone(ZoneInfo(tzid or "UTC")) if isinstance(start, dt.datetime) else start
    )
    first_day = local_start.date() if isinstance(local_start, dt.datetime) else local_start
    pattern: dict[str, Any] = {
        "type": frequency.lower(),
        "interval": int(parts.get("INTERVAL", "1")),
    }
    if frequency == "WEEKLY":
        days = parts.get("BYDAY", _RRULE_DAYS[first_day.weekday()]).split(",")
        pattern["daysOfWeek"] = [_WEEKDAYS[_RRULE_DAYS.index(day[-2:])] for day in days]
        pattern["firstDayOfWeek"] = "monday"
    recurrence_range: dict[str, Any] = {"type": "noEnd", "startDate": first_day.isoformat()}
    if "COUNT" in parts:
        recurrence_range.update(type="numbered", numberOfOccurrences=int(parts["COUNT"]))
    elif "UNTIL" in parts:
        until = dt.datetime.strptime(parts["UNTIL"][:8], "%Y%m%d").date()
        recurrence_range.update(type="endDate", endDate=until.isoformat())
    if tzid:
        recurrence_range["recurrenceTimeZone"] = tzid
    return {"pattern": pattern, "range": recurrence_range}


# ---------------------------------------------------------------------------
# Cursors and timestamps
# ---------------------------------------------------------------------------


def _graph_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode_cursor(state: dict[str, Any]) -> str:
    payload = {k: v for k, v in state.items() if v is not None and v is not False}
    payload["v"] = CURSOR_VERSION
    return json.dumps(payload, sort_keys=True)


def _decode_cursor(cursor: str | None) -> dict[str, Any]:
    if cursor is None:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise CursorExpired("unreadable Microsoft cursor") from exc
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        raise CursorExpired("Microsoft cursor from another adapter version")
    if not isinstance(state.get("link"), str) or not isinstance(state.get("window_end"), str):
        raise CursorExpired("Microsoft cursor holds no link")
    try:
        dt.datetime.fromisoformat(state["window_end"])
    except ValueError as exc:
        raise CursorExpired("Microsoft cursor holds an unreadable window") from exc
    return state


def _parse_expiry(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
