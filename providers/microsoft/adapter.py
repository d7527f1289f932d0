"""The Microsoft 365 / Outlook adapter: Microsoft Graph v1.0 over plain HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import msal
import requests

import providers.microsoft.writes as writes
from providers.base import (
    RECURRENCE_FREQUENCIES,
    AuthRevoked,
    ChangePage,
    Conferencing,
    CursorExpired,
    EventWriteSupport,
    InvalidRemoteData,
    NotFound,
    OAuthCalendarProvider,
    OAuthClient,
    ParticipationStatus,
    PermissionDenied,
    ProviderEndpoints,
    PushCallback,
    PushRequest,
    PushWatch,
    RemoteCalendar,
    RemoteEvent,
    ServiceIdentity,
    TransientError,
)
from providers.microsoft.auth import (
    CA_BUNDLE_ENV,
    SCOPES,
    call_msal,
    credentials_from_token,
    http_session,
    msal_app,
    parse_expiry,
)
from providers.microsoft.delta import CURSOR_VERSION, DeltaStart, delta_groups
from providers.microsoft.errors import BadRequest, http_error
from providers.microsoft.mapping import (
    TEAMS,
    calendar_from_graph,
    conferencing_of,
    event_from_graph,
    event_to_graph,
    graph_utc,
    is_deletion,
    items_of,
    notification_batch,
    notification_from_graph,
    transaction_id,
)
from providers.microsoft.series import BatchRefused, SeriesMasters
from providers.payload import change_page, decode_cursor, parse_optional_datetime
from providers.read_ahead import read_ahead

log = logging.getLogger("providers.microsoft")

T = TypeVar("T")

DEFAULT_API_BASE_URL = "https://graph.microsoft.com/v1.0/"
#: Longest validationToken echoed back (Graph's are ~100 characters).
MAX_VALIDATION_TOKEN = 4096

#: The tenant every personal Microsoft account (outlook.com, hotmail.com…) signs in to.
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
#: Domains of personal Microsoft accounts, when a token names no tenant.
PERSONAL_DOMAINS = frozenset(
    {"outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "windowslive.com"}
)

#: A token this close to its expiry is refreshed before use.
_EXPIRY_MARGIN = dt.timedelta(seconds=60)


class MicrosoftProvider(OAuthCalendarProvider):
    """Outlook calendars through Microsoft Graph v1.0."""

    name: ClassVar[str] = "microsoft"
    supports_push: ClassVar[bool] = True
    #: No event URL (webLink is Outlook's own) or colour (that is the user's categories);
    #: one reminder; calendars take Outlook's named colours only.
    write_support: ClassVar[EventWriteSupport] = EventWriteSupport(
        attendees=True, reminders=1, private=True, geo=True,
        recurrence=frozenset(RECURRENCE_FREQUENCIES), recurrence_by_day=True,
        participation_status=True, update_external=True, create_calendar=True,
        unique_calendar_names=True,
    )  # fmt: skip
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
    #: Whether series masters missing from a page are read by ``$batch`` (else one GET
    #: each); a sync whose ``$batch`` is refused falls back by itself.
    batch_series_masters: bool = True

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
        self._http = http_session(os.environ.get(CA_BUNDLE_ENV))
        self._app: msal.ConfidentialClientApplication | None = None
        self._refreshed = False
        self._persisted = dict(self.credentials)

    # -- tokens ------------------------------------------------------------

    def _access_token(self) -> str:
        token = self.credentials.get("access_token")
        expiry = parse_expiry(self.credentials.get("expiry"))
        if token and (expiry is None or expiry - _EXPIRY_MARGIN > dt.datetime.now(dt.UTC)):
            return str(token)
        return self._refresh()

    def _refresh(self) -> str:
        refresh_token = self.credentials.get("refresh_token")
        if not refresh_token:
            raise AuthRevoked("no Microsoft refresh token stored")
        if self._app is None:
            self._app = msal_app(self.oauth_client, self.endpoints, self.timeout)
        app = self._app
        result = call_msal(lambda: app.acquire_token_by_refresh_token(refresh_token, list(SCOPES)))
        self.credentials = credentials_from_token(result, self.credentials)
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
        return self._retrying(
            lambda: self._send_once(method, path, params=params, body=body, prefer=prefer)
        )

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        prefer: str | None = None,
        refused: frozenset[int] = frozenset(),
    ) -> dict[str, Any] | None:
        """One Graph request (a 401 refreshes once); a status in ``refused`` is BatchRefused."""
        response = self._exchange(method, path, params, body, prefer)
        if response.status_code == 401 and not self._refreshed:
            self._refresh()
            response = self._exchange(method, path, params, body, prefer)
        if response.status_code in refused:
            raise BatchRefused(f"Microsoft Graph answered {response.status_code}")
        if response.status_code >= 400:
            raise http_error(response.status_code, response.headers, response.content)
        if response.status_code == 204 or not response.content:
            return None
        try:
            payload = response.json()
        except ValueError as exc:
            raise TransientError("Microsoft Graph answered with a body that is not JSON") from exc
        if not isinstance(payload, dict):
            raise TransientError("Microsoft Graph answered with a body that is not an object")
        return payload

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

    def service_identity(self) -> ServiceIdentity:
        """``live_connect`` (service ``outlook_com``) for a personal Microsoft account,
        ``office365`` for a work or school one: by the token's tenant (personal accounts
        all sign in to the consumer tenant), else by the address's domain."""
        tenant = self.credentials.get("tenant_id")
        if tenant:
            personal = str(tenant).lower() == CONSUMER_TENANT_ID
        else:
            domain = str(self.credentials.get("email") or "").rpartition("@")[2].lower()
            personal = domain in PERSONAL_DOMAINS
        if personal:
            return ServiceIdentity("live_connect", "outlook_com")
        return ServiceIdentity("office365", "office365")

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
            for entry in items_of(response):
                try:
                    calendars.append(calendar_from_graph(entry))
                except (KeyError, TypeError):
                    log.warning("skipping malformed Microsoft calendar %r", entry.get("id"))
            link = response.get("@odata.nextLink")
        if calendars and not any(calendar.primary for calendar in calendars):
            calendars = self._with_default_marked(calendars)
        return calendars

    def _with_default_marked(self, calendars: list[RemoteCalendar]) -> list[RemoteCalendar]:
        """``/me/calendars`` entries often lack ``isDefaultCalendar``: ``/me/calendar`` names it."""
        try:
            default_id = self._get("me/calendar").get("id")
        except (NotFound, BadRequest, PermissionDenied):
            log.info("Microsoft Graph names no default calendar")
            return calendars
        return [
            dataclasses.replace(calendar, primary=True)
            if calendar.provider_calendar_id == default_id
            else calendar
            for calendar in calendars
        ]

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
                "startDateTime": graph_utc(window_start),
                "endDateTime": graph_utc(window_end),
            }
            full = True
        prefer = f'outlook.timezone="UTC", odata.maxpagesize={self.page_size}'
        masters = SeriesMasters(
            calendar.provider_calendar_id, self._send_once, self._retrying,
            batching=self.batch_series_masters,
        )  # fmt: skip
        start = DeltaStart(link, params, full, window_end)
        groups = delta_groups(self._get, start, prefer, masters)
        for group in read_ahead(groups, thread_name="syncd-graph-delta"):
            for held in group:
                page = self._change_page(calendar, held.response, full, masters)
                page.cursor, page.complete = held.cursor, held.complete
                yield page

    def _change_page(
        self,
        calendar: RemoteCalendar,
        response: dict[str, Any],
        full: bool,
        masters: SeriesMasters,
    ) -> ChangePage:
        return change_page(
            masters.complete(items_of(response, tolerate_non_dicts=True)),
            full_sync=full,
            is_deletion=is_deletion,
            event_of=self._event_of,
            log=log,
            provider="Microsoft",
            calendar_id=calendar.provider_calendar_id,
        )

    def _event_of(self, item: Any) -> RemoteEvent:
        """A Graph item as a RemoteEvent, the mailbox's own attendee entry marked."""
        email = self.credentials.get("email")
        return event_from_graph(item, str(email) if email else None)

    # -- events: writing ---------------------------------------------------

    def upsert_event(self, calendar: RemoteCalendar, event: RemoteEvent) -> RemoteEvent:
        """Update the Graph event with this id, or create it (idempotently) when there is none."""
        body = event_to_graph(event)
        calendar_path = f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}/events"
        try:
            stored = self._send(
                "PATCH", f"{calendar_path}/{quote(event.provider_event_id, safe='')}", body=body
            )
        except (NotFound, BadRequest):
            body["transactionId"] = transaction_id(event.provider_event_id)
            stored = self._send("POST", calendar_path, body=body)
        if stored is None:
            raise InvalidRemoteData("Microsoft Graph returned no event after a write")
        return self._event_of(stored)

    def update_event_fields(
        self, calendar: RemoteCalendar, event: RemoteEvent, fields: frozenset[str]
    ) -> RemoteEvent:
        """PATCH only the properties of ``fields``: the rest stays as its owner made it."""
        return writes.update_event_fields(self._send, calendar, event, fields)

    def set_participation_status(
        self, calendar: RemoteCalendar, provider_event_id: str, status: ParticipationStatus
    ) -> None:
        """``accept``, ``decline`` or ``tentativelyAccept``, telling the organizer."""
        writes.reply(self._send, calendar, provider_event_id, status)

    def create_calendar(self, name: str, color: str | None = None) -> RemoteCalendar:
        """``POST /me/calendars``; a name the mailbox has already is AlreadyExists (409)."""
        return writes.create_calendar(self._send, name, color)

    def delete_event(self, calendar: RemoteCalendar, provider_event_id: str) -> None:
        path = (
            f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}"
            f"/events/{quote(provider_event_id, safe='')}"
        )
        try:
            self._send("DELETE", path)
        except (NotFound, BadRequest):
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
        return conferencing_of(current)

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
        as text/plain within 10 s), so a receiver that is not reachable fails here. It is
        the ``lifecycleNotificationUrl`` too (Graph allows the same URL for both, and
        validates each): without one Graph sends no ``reauthorizationRequired``,
        ``missed`` or ``subscriptionRemoved``, and one cannot be added later.
        """
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": callback_url,
            "lifecycleNotificationUrl": callback_url,
            "resource": f"me/calendars/{quote(calendar.provider_calendar_id, safe='')}/events",
            "expirationDateTime": graph_utc(self._subscription_expiry(ttl)),
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
            body={"expirationDateTime": graph_utc(self._subscription_expiry(ttl))},
        )
        return self._expiry_of(subscription or {}, ttl)

    def stop_watch(self, channel_id: str, provider_resource_id: str) -> None:
        """``DELETE /subscriptions/{id}``; one Graph no longer knows counts as stopped."""
        try:
            self._send("DELETE", f"subscriptions/{quote(provider_resource_id, safe='')}")
        except (NotFound, BadRequest):
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
            notifications=tuple(
                notification_from_graph(item) for item in notification_batch(request.body)
            ),
            accepted_status=202,
        )

    def _subscription_expiry(self, ttl: dt.timedelta) -> dt.datetime:
        longest = dt.timedelta(minutes=self.max_subscription_minutes)
        return dt.datetime.now(dt.UTC) + min(ttl, longest)

    def _expiry_of(self, subscription: dict[str, Any], ttl: dt.timedelta) -> dt.datetime:
        """The expiry Graph granted (it may shorten the one asked for)."""
        granted = parse_optional_datetime(subscription.get("expirationDateTime"))
        if granted is None:
            return self._subscription_expiry(ttl)
        return granted if granted.tzinfo else granted.replace(tzinfo=dt.UTC)

    # -- OAuth -------------------------------------------------------------

    @classmethod
    def authorization_url(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, state: str
    ) -> str:
        app = msal_app(oauth_client, endpoints, 30.0)
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
        app = msal_app(oauth_client, endpoints, 30.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see authorization_url
            result = call_msal(
                lambda: app.acquire_token_by_authorization_code(
                    code, list(SCOPES), redirect_uri=oauth_client.redirect_uri
                )
            )
        credentials = credentials_from_token(result, {})
        return cls._with_email(credentials, endpoints, oauth_client)


# ---------------------------------------------------------------------------
# Cursors
# ---------------------------------------------------------------------------


def _decode_cursor(cursor: str | None) -> dict[str, Any]:
    state = decode_cursor(cursor, CURSOR_VERSION, "Microsoft")
    if cursor is None:
        return state
    if not isinstance(state.get("link"), str) or not isinstance(state.get("window_end"), str):
        raise CursorExpired("Microsoft cursor holds no link")
    try:
        dt.datetime.fromisoformat(state["window_end"])
    except ValueError as exc:
        raise CursorExpired("Microsoft cursor holds an unreadable window") from exc
    return state
