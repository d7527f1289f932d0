"""A stateful local fake of Microsoft Graph (calendars) and of the Microsoft identity platform.

One HTTPS server (certificates from ``trustme``: msal insists on an HTTPS authority)
answers both:

* the v2.0 authority: ``/{tenant}/v2.0/.well-known/openid-configuration`` (msal's tenant
  discovery), ``/{tenant}/oauth2/v2.0/authorize`` (signs the configured user in and
  redirects with a code) and ``/{tenant}/oauth2/v2.0/token`` (``authorization_code`` and
  ``refresh_token`` grants; refresh tokens rotate as Azure AD's do; revoked grants answer
  ``invalid_grant`` with AADSTS700082);
* Graph v1.0 under ``/v1.0``: ``/me``, ``/me/calendars`` (paged with ``$skip``),
  ``/me/calendars/{id}/calendarView/delta``, event create/read/update/delete, and JSON
  batching (``/$batch``, tests/emulators/graph_batch.py).

Payloads follow Microsoft's documented resources (field names and types as in the
``msgraph-sdk`` models ``user``, ``calendar``, ``event``, ``date_time_time_zone``,
``patterned_recurrence``, ``response_status``, ``online_meeting_info``) and the examples of
the Graph documentation, not the adapter's expectations.

Delta semantics are Graph's: the first round lists every occurrence in the requested
window, paged by ``@odata.nextLink`` (``$skiptoken``); the last page carries an
``@odata.deltaLink`` (``$deltatoken``) that encodes the window and a change sequence, so
calling it later returns exactly the occurrences changed since, removed ones as
``{"id": ..., "@removed": {"reason": "deleted"}}``. Recurring series are stored as a master
with a ``recurrence`` pattern (daily or weekly, numbered / end date / no end) and served
expanded: occurrences and exceptions, never the master. Tokens are deterministic so
recorded cassettes replay request-for-request.

Occurrences come back from delta as sparse as real Graph sends them (``SPARSE_OCCURRENCE``:
``@odata.type``, ``@odata.etag``, ``seriesMasterId``, ``type``, ``id``, ``start``, ``end``;
microsoftgraph/microsoft-graph-docs issues #1716 (2017), #7632 (2020), #22197 (2023)):
subject, showAs, isAllDay and the rest live on the series master only
(``GET /me/events/{seriesMasterId}``). Exceptions keep their own full properties.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import json
import secrets
import ssl
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import trustme

from tests.emulators import faults
from tests.emulators.faults import RecordedRequest
from tests.emulators.graph_batch import batch
from tests.emulators.graph_writes import REPLIES, replied, with_attendee_status, write_problem
from tests.emulators.push import acceptable_callback
from tests.emulators.push import request as push_request
from tests.emulators.serving import (
    AccessTokens,
    Answer,
    Request,
    RestEmulator,
    Router,
    TLSServer,
    decode_token,
    encode_token,
    route,
)

API_PREFIX = "/v1.0"
_V1 = API_PREFIX[1:]
DEFAULT_USER = "alice@contoso.com"
DEFAULT_TENANT = "common"
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEFAULT_CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
ACCESS_TOKEN_LIFETIME_SECONDS = 3599
DEFAULT_DELTA_PAGE_SIZE = 10
DEFAULT_CALENDARS_PAGE_SIZE = 10
TEAMS = "teamsForBusiness"
#: The Windows zone names this emulator understands (Graph accepts Windows and IANA names).
WINDOWS_ZONES = {
    "UTC": "UTC",
    "Pacific Standard Time": "America/Los_Angeles",
    "Eastern Standard Time": "America/New_York",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Tokyo Standard Time": "Asia/Tokyo",
}
#: Odd zone names real Graph answers carry: Outlook desktop's legacy custom zones (the
#: Graph event resource documents ``tzone://Microsoft/Custom`` for originalStartTimeZone;
#: MicrosoftDocs/azure-docs #39454 reports "Customized Time Zone"; OutlookGoogleCalendarSync
#: #2148 "tzone://Microsoft/Custom not found") and Windows display names. The emulator's
#: mailbox defines its custom zone as ``CUSTOM_ZONE``.
CUSTOM_ZONE = "Asia/Kolkata"
ODD_ZONES = {
    "Customized Time Zone": CUSTOM_ZONE,
    "tzone://Microsoft/Custom": CUSTOM_ZONE,
    "Coordinated Universal Time": "UTC",
}
#: How far a series without an end is materialised (the emulator's own bound).
_SERIES_HORIZON = dt.timedelta(days=1000)
_MAX_OCCURRENCES = 2000
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Longest subscription lifetime Graph grants on Outlook events, in minutes.
MAX_SUBSCRIPTION_MINUTES = 10080
#: Seconds Graph waits for a notification URL to echo its validationToken.
VALIDATION_TIMEOUT_SECONDS = 10.0
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
#: The only properties real ``calendarView/delta`` answers carry on an occurrence.
SPARSE_OCCURRENCE = ("@odata.type", "@odata.etag", "seriesMasterId", "type", "id", "start", "end")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _answers_validation(url: str) -> bool:
    """Graph's reachability check: POST ``validationToken``, expect it echoed as text/plain."""
    token = f"Validation: Testing client application reachability for subscription {uuid.uuid4()}"
    separator = "&" if urlsplit(url).query else "?"
    status, reply, headers = push_request(
        "POST",
        f"{url}{separator}{urlencode({'validationToken': token})}",
        {"Content-Type": "text/plain; charset=utf-8"},
        b"",
        VALIDATION_TIMEOUT_SECONDS,
    )
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return (
        status == 200
        and reply.decode(errors="replace") == token
        and content_type.startswith("text/plain")
    )


def _graph_timestamp(moment: dt.datetime | None = None) -> str:
    return (moment or _now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _graph_local(moment: dt.datetime) -> str:
    """Graph's dateTime text: no offset, seven fractional digits."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def graph_error(code: str, message: str) -> dict[str, Any]:
    """An error body in the shape Graph returns."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": _now().strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": "00000000-0000-0000-0000-000000000000",
                "client-request-id": "00000000-0000-0000-0000-000000000000",
            },
        }
    }


def zone_of(name: str | None) -> ZoneInfo:
    """The zone a Graph time zone name (IANA or Windows) denotes."""
    name = name or "UTC"
    return ZoneInfo(ODD_ZONES.get(name) or WINDOWS_ZONES.get(name, name))


def parse_date_time_time_zone(value: dict[str, Any]) -> dt.datetime:
    text = str(value["dateTime"])
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_of(value.get("timeZone")))
    return moment


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------


@dataclass
class _Calendar:
    entry: dict[str, Any]
    owner: str
    seq: int = 0
    epoch: int = 0
    #: Stored items: single events and series masters, keyed by id.
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Served (expanded) item id -> sequence number of its last change.
    changed: dict[str, int] = field(default_factory=dict)
    #: transactionId -> event id, so a retried create returns the first one.
    transactions: dict[str, str] = field(default_factory=dict)
    #: (seq, served items, window -> sorted ids in it): a full delta round of thousands
    #: of items is expanded and filtered once, not once per page.
    served_memo: tuple[int, dict[str, dict[str, Any]], dict[Any, list[str]]] | None = None


@dataclass
class _Grant:
    user: str
    revoked: bool = False


@dataclass
class _Subscription:
    """A change-notification subscription on one calendar's events."""

    id: str
    resource: str
    calendar_id: str
    owner: str
    change_types: frozenset[str]
    notification_url: str
    client_state: str | None
    expires_at: dt.datetime
    deleted: bool = False
    #: Where lifecycle notifications go (None: the subscriber asked for none).
    lifecycle_url: str | None = None
    #: A ``reauthorizationRequired`` was sent and no renewal has answered it yet.
    reauthorization_pending: bool = False

    def live(self) -> bool:
        return not self.deleted and self.expires_at > _now()


@dataclass
class _User:
    mail: str | None
    user_principal_name: str
    display_name: str
    id: str


class Fault(faults.Fault):
    """A fault rendered as Graph answers errors (``reason`` is Graph's error ``code``)."""

    default_reason = "generalException"
    rate_limit_reason = "TooManyRequests"


class GraphEmulator(RestEmulator):
    """The fake server plus a Python API for tests to arrange state and faults."""

    api_prefix = API_PREFIX
    malformed_json = b'{"@odata.context": "x", "value": [{"id": '
    record_headers = True
    server_header = "Microsoft-IIS/10.0"
    http_version = "HTTP/1.1"
    content_type = "application/json; charset=utf-8"
    thread_name = "graph-emulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> None:
        super().__init__(AccessTokens("emu-at-", ACCESS_TOKEN_LIFETIME_SECONDS, 24))
        self.client_id = client_id
        self.client_secret = client_secret
        #: Azure AD hands out a new refresh token with every refresh.
        self.rotate_refresh_tokens = True
        #: Whether Teams join links are ready at once (else: after complete_online_meetings).
        self.online_meetings_ready = True
        #: Whether ``Prefer: outlook.timezone`` is honoured (else times stay as written).
        self.honour_prefer_timezone = True
        #: Whether delta serves occurrences in the sparse shape real Graph uses (see the
        #: module docstring); False copies every master property into them.
        self.sparse_occurrences = True
        #: Whether an event written in an odd zone (``ODD_ZONES``) keeps that name as the
        #: ``timeZone`` label of times converted to the Prefer zone, as real answers do.
        self.label_odd_zones = True
        #: Whether ``/me/calendars`` entries carry ``isDefaultCalendar``; real answers
        #: often lack it, and ``/me/calendar`` names the default calendar.
        self.list_default_flag = False
        #: The order of a ``$batch``'s responses ("reversed", "shuffled" or "as_sent"):
        #: Graph guarantees none, so by default they do not come back as sent.
        self.batch_order = "reversed"
        #: Every request served inside a ``$batch`` (the batch itself is in ``requests``).
        self.batched_requests: list[RecordedRequest] = []
        #: Who the authorize endpoint signs in (the browser's session).
        self.signed_in_user = DEFAULT_USER
        self._users: dict[str, _User] = {}
        self._calendars: dict[str, _Calendar] = {}
        self._grants: dict[str, _Grant] = {}
        self._codes: dict[str, str] = {}
        self._counter = 0
        self._subscriptions: dict[str, _Subscription] = {}
        identity = "{tenant}/oauth2/v2.0"
        self.open_routes = Router(
            route(
                "*",
                "{tenant}/v2.0/.well-known/openid-configuration",
                self._route_openid,
                locked=False,
            ),
            route("POST", f"{identity}/token", self._route_token, locked=False),
            route("GET", f"{identity}/authorize", self._route_authorize, locked=False),
        )
        calendar = f"{_V1}/me/calendars/{{calendar}}"
        self.api_routes = Router(
            route("POST", f"{_V1}/$batch", self._route_batch, locked=False),
            route("POST", f"{_V1}/subscriptions", self._route_subscribe, locked=False),
            route("*", f"{_V1}/subscriptions/{{subscription}}", self._route_subscription),
            route("GET", f"{_V1}/me", self._route_me),
            route("GET", f"{_V1}/me/calendars", self._route_calendars),
            route("POST", f"{_V1}/me/calendars", self._route_create_calendar),
            route("POST", f"{calendar}/events/{{event}}/{{action}}", self._route_reply),
            route("POST", f"{_V1}/me/events/{{event}}/{{action}}", self._route_reply_anywhere),
            route("GET", f"{_V1}/me/calendar", self._route_default_calendar),
            route("GET", f"{calendar}/calendarView/delta", self._route_delta),
            route("POST", f"{calendar}/events", self._route_create_event),
            route("*", f"{calendar}/events/{{event}}", self._route_calendar_event),
            route("*", f"{calendar}/**", self._route_other_in_calendar),
            route("*", f"{_V1}/me/events/{{event}}", self._route_event),
        )
        self._ca = trustme.CA()
        self._folder = tempfile.TemporaryDirectory(prefix="graph-emulator-")
        self.ca_bundle = str(Path(self._folder.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = TLSServer((host, port), self._handler_class(), context)
        self.add_user(DEFAULT_USER)

    def _stopped(self) -> None:
        super()._stopped()
        self._folder.cleanup()

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.origin}{API_PREFIX}/"

    @property
    def token_url(self) -> str:
        return f"{self.origin}/{DEFAULT_TENANT}/oauth2/v2.0/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.origin}/{DEFAULT_TENANT}/oauth2/v2.0/authorize"

    # -- identity ----------------------------------------------------------

    def add_user(
        self, user: str, *, mail: str | None = "same", display_name: str | None = None
    ) -> None:
        """A user of the tenant; ``mail=None`` is an account without a mailbox address."""
        with self._lock:
            self._users[user] = _User(
                mail=user if mail == "same" else mail,
                user_principal_name=user,
                display_name=display_name or user.split("@")[0].title(),
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, user)),
            )

    def issue_grant(
        self, user: str = DEFAULT_USER, *, access_token_valid: bool = True
    ) -> dict[str, Any]:
        """Credentials as a finished authorization would store them."""
        with self._lock:
            refresh_token = self._new_refresh_token(user)
            credentials: dict[str, Any] = {"refresh_token": refresh_token, "email": user}
            if access_token_valid:
                token, expires_at = self._new_access_token(user)
                credentials["access_token"] = token
                credentials["expiry"] = dt.datetime.fromtimestamp(expires_at, dt.UTC).isoformat()
            else:
                credentials["access_token"] = "emu-at-expired-" + secrets.token_hex(4)
                credentials["expiry"] = "2000-01-01T00:00:00+00:00"
            return credentials

    def authorization_code(self, user: str = DEFAULT_USER) -> str:
        """A one-time code as the authorize endpoint would hand to the redirect URI."""
        with self._lock:
            code = "0.AemuCode-" + secrets.token_urlsafe(16)
            self._codes[code] = user
            return code

    def revoke_grant(self, refresh_token: str) -> None:
        """The grant is gone: refreshing answers invalid_grant, its user's tokens stop working."""
        with self._lock:
            grant = self._grants[refresh_token]
            self.revoke_user(grant.user)

    def retire_refresh_token(self, refresh_token: str) -> None:
        """Only this refresh token stops working (the user's newer ones still do)."""
        with self._lock:
            self._grants[refresh_token].revoked = True

    def revoke_user(self, user: str = DEFAULT_USER) -> None:
        """The user removed the app (or an admin revoked sessions): every grant is refused."""
        with self._lock:
            for grant in self._grants.values():
                if grant.user == user:
                    grant.revoked = True
            self._access_tokens.forget_user(user)

    # -- calendars and events ---------------------------------------------

    def add_calendar(
        self,
        calendar_id: str,
        *,
        user: str = DEFAULT_USER,
        name: str | None = None,
        default: bool = False,
        can_edit: bool = True,
        online_meeting_providers: tuple[str, ...] = (TEAMS,),
    ) -> dict[str, Any]:
        """A calendar as ``GET /me/calendars`` lists it."""
        owner = self._users.get(user)
        entry: dict[str, Any] = {
            "id": calendar_id,
            "name": name or calendar_id,
            "color": "auto",
            "hexColor": "",
            "isDefaultCalendar": default,
            "changeKey": "nfZyf7VcrEKLNoU37KWlkQAAA0x0+w==",
            "canShare": can_edit,
            "canViewPrivateItems": can_edit,
            "canEdit": can_edit,
            "allowedOnlineMeetingProviders": list(online_meeting_providers),
            "defaultOnlineMeetingProvider": online_meeting_providers[0]
            if online_meeting_providers
            else "unknown",
            "isTallyingResponses": True,
            "isRemovable": not default,
            "owner": {
                "name": owner.display_name if owner else user,
                "address": user,
            },
        }
        with self._lock:
            self._calendars[calendar_id] = _Calendar(entry=entry, owner=user)
        return entry

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an event (or series master) as its organizer would."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            event_id = str(event.get("id") or self._new_id())
            previous = calendar.items.get(event_id)
            stored = self._complete(calendar, dict(event, id=event_id), previous)
            self._replace(calendar, event_id, stored)
            return self._serialise(calendar, stored, None)

    def put_raw_item(self, calendar_id: str, item: dict[str, Any]) -> None:
        """Store an item served exactly as given (malformed data, unknown fields/enums)."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            item_id = str(item.get("id") or self._new_id())
            self._replace(calendar, item_id, dict(item, _raw=True))

    def update_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            calendar = self._calendars[calendar_id]
            current = dict(calendar.items[event_id])
            current.update(changes)
            stored = self._complete(calendar, current, calendar.items[event_id])
            self._replace(calendar, event_id, stored)
            return self._serialise(calendar, stored, None)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Delete an event or a whole series (later deltas report each removal)."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            self._replace(calendar, event_id, None)

    def cancel_occurrence(self, calendar_id: str, master_id: str, day: dt.date) -> None:
        """Delete one occurrence of a series (its local start date)."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            master = dict(calendar.items[master_id])
            master["_cancelled"] = sorted({*master.get("_cancelled", []), day.isoformat()})
            self._replace(calendar, master_id, master)

    def modify_occurrence(
        self, calendar_id: str, master_id: str, day: dt.date, **changes: Any
    ) -> None:
        """Turn one occurrence (by its local start date) into an exception."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            master = dict(calendar.items[master_id])
            exceptions = dict(master.get("_exceptions", {}))
            exceptions[day.isoformat()] = {**exceptions.get(day.isoformat(), {}), **changes}
            master["_exceptions"] = exceptions
            self._replace(calendar, master_id, master)

    def rename_calendar(self, calendar_id: str, name: str) -> None:
        """The owner renamed the calendar (``PATCH /me/calendars/{id}`` with a new name)."""
        with self._lock:
            self._calendars[calendar_id].entry["name"] = name

    def served_items(self, calendar_id: str) -> list[dict[str, Any]]:
        """Copies of what calendarView serves now (``_raw`` marks items stored verbatim)."""
        with self._lock:
            return [dict(item) for item in self._expanded(self._calendars[calendar_id]).values()]

    def expire_delta_tokens(self, calendar_id: str) -> None:
        """Every delta and skip token of this calendar now answers 410 syncStateNotFound."""
        with self._lock:
            self._calendars[calendar_id].epoch += 1

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """The stored event (or master) as ``GET .../events/{id}`` would serialise it."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            return self._serialise(calendar, calendar.items[event_id], None)

    def served_ids(self, calendar_id: str) -> list[str]:
        """Every id calendarView serves now (occurrences of series, not their masters)."""
        with self._lock:
            return sorted(self._expanded(self._calendars[calendar_id]))

    def complete_online_meetings(self, calendar_id: str) -> None:
        """Teams finished provisioning the meetings it had not produced a join link for."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            for event_id, stored in list(calendar.items.items()):
                if stored.get("isOnlineMeeting") and not stored.get("onlineMeeting"):
                    updated = dict(stored, onlineMeeting=_teams_meeting(event_id))
                    self._replace(calendar, event_id, updated)

    # -- subscriptions (change notifications) -----------------------------

    def subscriptions(self, *, live_only: bool = True) -> list[dict[str, Any]]:
        """The subscriptions as Graph serialises them (live ones only unless asked)."""
        with self._lock:
            return [
                dict(self._subscription_resource(s), deleted=s.deleted)
                for s in self._subscriptions.values()
                if s.live() or not live_only
            ]

    def expire_subscription(self, subscription_id: str) -> None:
        """The subscription ran out: no more notifications, PATCH answers 404."""
        with self._lock:
            self._subscriptions[subscription_id].expires_at = _now() - dt.timedelta(seconds=1)

    def _create_subscription(self, user: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """POST /subscriptions: validate the request, then the notification URL (unlocked)."""
        problem = self._subscription_problem(user, payload)
        if problem is not None:
            return 400, graph_error("InvalidRequest", problem)
        url = str(payload["notificationUrl"])
        lifecycle_url = payload.get("lifecycleNotificationUrl")
        # With webhooks Graph validates both endpoints, even when they are one URL.
        for endpoint in (url, lifecycle_url):
            if endpoint is not None and not _answers_validation(str(endpoint)):
                return 400, graph_error(
                    "InvalidRequest",
                    "Subscription validation request failed. Notification endpoint must "
                    "respond with 200 OK to validation request.",
                )
        with self._lock:
            resource = str(payload["resource"]).strip("/")
            subscription = _Subscription(
                id=str(uuid.uuid4()),
                resource=resource,
                calendar_id=resource.split("/")[2],
                owner=user,
                change_types=frozenset(str(payload["changeType"]).split(",")),
                notification_url=url,
                client_state=payload.get("clientState"),
                expires_at=_parse_query_time(str(payload["expirationDateTime"])),
                lifecycle_url=str(lifecycle_url) if lifecycle_url is not None else None,
            )
            self._subscriptions[subscription.id] = subscription
            return 201, self._subscription_resource(subscription)

    def _subscription_problem(self, user: str, payload: dict[str, Any]) -> str | None:
        """Why Graph would refuse this subscription request (None: it would not)."""
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not isinstance(payload.get(name), str) or not payload[name]:
                return f"Missing required property '{name}'."
        if not set(str(payload["changeType"]).split(",")) <= CHANGE_TYPES:
            return "Invalid changeType."
        if not acceptable_callback(str(payload["notificationUrl"])):
            return "Notification URL must use https."
        lifecycle_url = payload.get("lifecycleNotificationUrl")
        if lifecycle_url is not None and (
            not isinstance(lifecycle_url, str) or not acceptable_callback(lifecycle_url)
        ):
            return "Lifecycle notification URL must use https."
        client_state = payload.get("clientState")
        if client_state is not None and (
            not isinstance(client_state, str) or len(client_state) > 128
        ):
            return "clientState must be a string of at most 128 characters."
        parts = str(payload["resource"]).strip("/").split("/")
        with self._lock:
            calendar = self._calendars.get(parts[2]) if len(parts) == 4 else None
        if (
            len(parts) != 4
            or parts[0] != "me"
            or parts[1] != "calendars"
            or parts[3] != "events"
            or calendar is None
            or calendar.owner != user
        ):
            return f"Resource '{payload['resource']}' is not supported."
        return self._expiry_problem(str(payload["expirationDateTime"]))

    def _expiry_problem(self, text: str) -> str | None:
        try:
            expires = _parse_query_time(text)
        except ValueError:
            return "Invalid expirationDateTime."
        if expires <= _now():
            return "Subscription expiration must be in the future."
        if expires > _now() + dt.timedelta(minutes=MAX_SUBSCRIPTION_MINUTES):
            return (
                f"Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes "
                "in the future."
            )
        return None

    def _one_subscription(
        self, user: str, method: str, subscription_id: str, payload: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None or subscription.owner != user or not subscription.live():
            return (
                404,
                graph_error("ResourceNotFound", "The object was not found."),
                {},
            )
        if method == "GET":
            return 200, self._subscription_resource(subscription), {}
        if method == "DELETE":
            subscription.deleted = True
            return 204, None, {}
        if method == "PATCH":
            text = payload.get("expirationDateTime")
            problem = (
                self._expiry_problem(str(text))
                if isinstance(text, str)
                else "Missing expirationDateTime."
            )
            if problem is not None:
                return 400, graph_error("InvalidRequest", problem), {}
            subscription.expires_at = _parse_query_time(str(text))
            subscription.reauthorization_pending = False  # renewing reauthorizes
            return 200, self._subscription_resource(subscription), {}
        return 405, graph_error("ErrorInvalidRequest", "Method not allowed."), {}

    def _subscription_resource(self, subscription: _Subscription) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": subscription.id,
            "resource": subscription.resource,
            "applicationId": self.client_id,
            "changeType": ",".join(sorted(subscription.change_types)),
            "clientState": subscription.client_state,
            "notificationUrl": subscription.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": subscription.lifecycle_url,
            "expirationDateTime": _graph_timestamp(subscription.expires_at),
            "creatorId": self._users[subscription.owner].id
            if subscription.owner in self._users
            else None,
            "includeResourceData": None,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def send_lifecycle(self, subscription_id: str, event: str) -> None:
        """POST a lifecycle notification, as Graph does, to the subscription's
        ``lifecycleNotificationUrl`` (answer expected: 202 Accepted, see
        https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events).

        ``event`` is ``reauthorizationRequired`` (renew the subscription, e.g. PATCH its
        ``expirationDateTime``, or lose it), ``missed`` (notifications were dropped:
        resync with delta) or ``subscriptionRemoved`` (Graph deleted it: create another
        and resync). The entry carries no ``resource`` or ``changeType``, only
        ``lifecycleEvent`` with the subscription id, its expiry, tenant and clientState.
        """
        with self._lock:
            subscription = self._subscriptions[subscription_id]
            if subscription.lifecycle_url is None:
                return  # Graph sends none to a subscription created without the URL
            entry = {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": _graph_timestamp(subscription.expires_at),
                "tenantId": TENANT_ID,
                "clientState": subscription.client_state,
                "lifecycleEvent": event,
            }
            if event == "reauthorizationRequired":
                subscription.reauthorization_pending = True
            elif event == "subscriptionRemoved":
                subscription.deleted = True
            url = subscription.lifecycle_url
        self._push.send(
            url,
            {"Content-Type": "application/json; charset=utf-8"},
            json.dumps({"value": [entry]}).encode(),
        )

    def _notify_subscribers(self, calendar: _Calendar, changes: dict[str, str]) -> None:
        """Served ids that changed (id -> created/updated/deleted): one POST per subscription."""
        owner = self._users.get(calendar.owner)
        user_id = owner.id if owner else calendar.owner
        for subscription in self._subscriptions.values():
            if subscription.calendar_id != calendar.entry["id"] or not subscription.live():
                continue
            value = [
                {
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": _graph_timestamp(subscription.expires_at),
                    "changeType": change,
                    "resource": f"Users/{user_id}/Events/{served_id}",
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Event",
                        "@odata.id": f"Users/{user_id}/Events/{served_id}",
                        "@odata.etag": f'W/"{calendar.seq}"',
                        "id": served_id,
                    },
                    "clientState": subscription.client_state,
                    "tenantId": TENANT_ID,
                }
                for served_id, change in sorted(changes.items())
                if change in subscription.change_types
            ]
            if value:
                self._push.send(
                    subscription.notification_url,
                    {"Content-Type": "application/json; charset=utf-8"},
                    json.dumps({"value": value}).encode(),
                )

    # -- internals: storage ------------------------------------------------

    def _new_id(self) -> str:
        self._counter += 1
        return f"AAMkAGemu{self._counter:08d}"

    def _new_refresh_token(self, user: str) -> str:
        token = "0.AemuRT-" + secrets.token_urlsafe(24)
        self._grants[token] = _Grant(user=user)
        return token

    def _new_access_token(self, user: str) -> tuple[str, float]:
        return self._access_tokens.issue(user)

    def _complete(
        self, calendar: _Calendar, event: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Fill in what Graph sets itself on a stored event."""
        owner = self._users.get(calendar.owner)
        address = {
            "name": owner.display_name if owner else calendar.owner,
            "address": calendar.owner,
        }
        now = _graph_timestamp()
        stored: dict[str, Any] = {
            "createdDateTime": (previous or {}).get("createdDateTime", now),
            "categories": [],
            "transactionId": None,
            "originalStartTimeZone": (event.get("start") or {}).get("timeZone", "UTC"),
            "originalEndTimeZone": (event.get("end") or {}).get("timeZone", "UTC"),
            "iCalUId": "040000008200E00074C5B7101A82E008000000" + event["id"].encode().hex()[:32],
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": False,
            "subject": "",
            "bodyPreview": "",
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": True,
            "seriesMasterId": None,
            "showAs": "busy",
            "type": "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={quote(event['id'])}",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": False,
            "onlineMeetingProvider": "unknown",
            "allowNewTimeProposals": True,
            "isDraft": False,
            "hideAttendees": False,
            "recurrence": None,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": {"contentType": "html", "content": ""},
            "location": {"displayName": "", "locationType": "default"},
            "locations": [],
            "attendees": [],
            "organizer": {"emailAddress": address},
            "onlineMeeting": None,
        }
        stored.update({k: v for k, v in event.items() if v is not None or k == "recurrence"})
        if stored.get("recurrence"):
            stored["type"] = "seriesMaster"
        body = stored.get("body") or {}
        stored["bodyPreview"] = str(body.get("content") or "")[:255]
        if stored.get("isOnlineMeeting") and stored.get("onlineMeetingProvider") == TEAMS:
            if TEAMS not in calendar.entry["allowedOnlineMeetingProviders"]:
                stored.update(isOnlineMeeting=False, onlineMeetingProvider="unknown")
            elif not stored.get("onlineMeeting") and self.online_meetings_ready:
                stored["onlineMeeting"] = _teams_meeting(stored["id"])
        stored["lastModifiedDateTime"] = now
        return stored

    def _replace(self, calendar: _Calendar, item_id: str, new: dict[str, Any] | None) -> None:
        """Store (or with None delete) an item and log every served id it touched."""
        before = self._instances_of(calendar.items[item_id]) if item_id in calendar.items else {}
        if new is None:
            calendar.items.pop(item_id, None)
            after: dict[str, dict[str, Any]] = {}
        else:
            calendar.items[item_id] = new
            after = self._instances_of(new)
        calendar.seq += 1
        changes: dict[str, str] = {}
        for served_id in {*before, *after}:
            if before.get(served_id) != after.get(served_id):
                calendar.changed[served_id] = calendar.seq
                changes[served_id] = (
                    "created"
                    if served_id not in before
                    else ("deleted" if served_id not in after else "updated")
                )
        if changes:
            self._notify_subscribers(calendar, changes)

    def _served_now(self, calendar: _Calendar) -> dict[str, dict[str, Any]]:
        """``_expanded``, computed once per change of the calendar (every change bumps seq)."""
        if calendar.served_memo is None or calendar.served_memo[0] != calendar.seq:
            calendar.served_memo = (calendar.seq, self._expanded(calendar), {})
        return calendar.served_memo[1]

    def _ids_in_window(
        self, calendar: _Calendar, window: tuple[dt.datetime, dt.datetime]
    ) -> list[str]:
        """Sorted ids of the served items inside ``window``, as of the calendar's last change."""
        served = self._served_now(calendar)
        assert calendar.served_memo is not None
        by_window = calendar.served_memo[2]
        if window not in by_window:
            by_window[window] = sorted(
                served_id for served_id, item in served.items() if _in_window(item, window)
            )
        return by_window[window]

    def _expanded(self, calendar: _Calendar) -> dict[str, dict[str, Any]]:
        served: dict[str, dict[str, Any]] = {}
        for item in calendar.items.values():
            served.update(self._instances_of(item))
        return served

    def _instances_of(self, item: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """What calendarView serves for one stored item: itself, or a series' occurrences."""
        if item.get("_raw") or not item.get("recurrence"):
            return {str(item["id"]): item}
        served: dict[str, dict[str, Any]] = {}
        zone = zone_of(item["start"].get("timeZone"))
        first = parse_date_time_time_zone(item["start"]).astimezone(zone)
        length = parse_date_time_time_zone(item["end"]) - parse_date_time_time_zone(item["start"])
        cancelled = set(item.get("_cancelled", []))
        exceptions = item.get("_exceptions", {})
        for day in _occurrence_days(item["recurrence"], first.date()):
            if day.isoformat() in cancelled:
                continue
            start = dt.datetime.combine(day, first.time(), zone)
            occurrence_id = f"{item['id']}_{day.strftime('%Y%m%d')}"
            instance = {
                k: v for k, v in item.items() if not k.startswith("_") and k != "recurrence"
            }
            instance.update(
                id=occurrence_id,
                type="occurrence",
                seriesMasterId=item["id"],
                recurrence=None,
                start={"dateTime": _graph_local(start), "timeZone": zone.key},
                end={"dateTime": _graph_local(start + length), "timeZone": zone.key},
            )
            if day.isoformat() in exceptions:
                instance.update(exceptions[day.isoformat()], type="exception")
            served[occurrence_id] = instance
        return served

    def _serialise(
        self, calendar: _Calendar, item: dict[str, Any], prefer_zone: str | None
    ) -> dict[str, Any]:
        """An item as Graph's JSON; times converted to the Prefer time zone when asked."""
        if item.get("_raw"):
            return {k: v for k, v in item.items() if k != "_raw"}
        body = {k: v for k, v in item.items() if not k.startswith("_")}
        body["@odata.etag"] = f'W/"{calendar.changed.get(item["id"], calendar.seq)}"'
        body["changeKey"] = f"emu{calendar.changed.get(item['id'], calendar.seq)}"
        zone_name = prefer_zone if self.honour_prefer_timezone and prefer_zone else None
        if zone_name is None and self.honour_prefer_timezone:
            zone_name = "UTC"  # Graph's default for reads without a Prefer header
        if zone_name and not body.get("isAllDay"):
            target = zone_of(zone_name)
            for key in ("start", "end"):
                written = body[key].get("timeZone")
                label = written if self.label_odd_zones and written in ODD_ZONES else zone_name
                moment = parse_date_time_time_zone(body[key]).astimezone(target)
                body[key] = {"dateTime": _graph_local(moment), "timeZone": label}
        elif zone_name and body.get("isAllDay"):
            for key in ("start", "end"):
                body[key] = {"dateTime": body[key]["dateTime"], "timeZone": zone_name}
        return body

    # -- internals: auth ---------------------------------------------------

    def _openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.origin}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{self.origin}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.origin}/{TENANT_ID}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "tid"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def _token_endpoint(self, headers: Any, form: dict[str, list[str]]) -> tuple[int, Any]:
        def one(name: str) -> str:
            return form.get(name, [""])[0]

        client_id, client_secret = one("client_id"), one("client_secret")
        basic = headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, _aad_error("invalid_client", 7000215, "Invalid client secret provided.")
        with self._lock:
            grant_type = one("grant_type")
            if grant_type == "refresh_token":
                grant = self._grants.get(one("refresh_token"))
                if grant is None or grant.revoked:
                    return 400, _aad_error(
                        "invalid_grant",
                        700082,
                        "The refresh token has expired due to inactivity.",
                    )
                response = self._token_response(grant.user, one("scope"))
                if self.rotate_refresh_tokens:
                    response["refresh_token"] = self._new_refresh_token(grant.user)
                else:
                    response["refresh_token"] = one("refresh_token")
                return 200, response
            if grant_type == "authorization_code":
                user = self._codes.pop(one("code"), None)
                if user is None:
                    return 400, _aad_error(
                        "invalid_grant",
                        70008,
                        "The provided authorization code or refresh token has expired due "
                        "to inactivity.",
                    )
                response = self._token_response(user, one("scope"))
                response["refresh_token"] = self._new_refresh_token(user)
                return 200, response
        return 400, _aad_error(
            "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )

    def _token_response(self, user: str, scope: str) -> dict[str, Any]:
        token, _ = self._new_access_token(user)
        profile = self._users.get(user)
        object_id = profile.id if profile else str(uuid.uuid5(uuid.NAMESPACE_URL, user))
        now = int(time.time())
        claims = {
            "aud": self.client_id,
            "iss": f"{self.origin}/{TENANT_ID}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME_SECONDS,
            "name": profile.display_name if profile else user,
            "oid": object_id,
            "preferred_username": user,
            "sub": _b64(object_id.encode())[:43],
            "tid": TENANT_ID,
            "ver": "2.0",
        }
        granted = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
        return {
            "token_type": "Bearer",
            "scope": " ".join(granted + ["openid", "profile"]),
            "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
            "access_token": token,
            "id_token": ".".join(
                [_b64(b'{"typ":"JWT","alg":"none"}'), _b64(json.dumps(claims).encode()), ""]
            ),
            "client_info": _b64(json.dumps({"uid": object_id, "utid": TENANT_ID}).encode()),
        }

    def _authorize(self, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        def one(name: str) -> str:
            return query.get(name, [""])[0]

        if one("client_id") != self.client_id or one("response_type") != "code":
            return 400, _aad_error("invalid_request", 900144, "Bad request."), {}
        if not one("redirect_uri"):
            return 400, _aad_error("invalid_request", 900144, "No redirect_uri."), {}
        code = self.authorization_code(self.signed_in_user)
        target = (
            one("redirect_uri")
            + "?"
            + urlencode({"code": code, "state": one("state"), "session_state": str(uuid.uuid4())})
        )
        return 302, None, {"Location": target}

    # -- internals: Graph --------------------------------------------------

    def segments(self, path: str) -> list[str]:
        return [unquote(part) for part in path.strip("/").split("/")]

    def fault_error(self, fault: faults.Fault) -> dict[str, Any]:
        return graph_error(fault.reason, f"Injected {fault.status}")

    def outside_api(self) -> Answer:
        return 404, graph_error("ResourceNotFound", "Resource not found."), {}

    def unauthenticated(self) -> Answer:
        message = "Access token has expired or is not yet valid."
        return 401, graph_error("InvalidAuthenticationToken", message), {}

    def unreadable_body(self) -> Answer:
        return 400, graph_error("BadRequest", "Unable to read JSON request payload."), {}

    def no_route(self) -> Answer:
        return 404, graph_error("ResourceNotFound", "Resource not found for the segment."), {}

    def _route_batch(self, request: Request) -> Answer:
        """``POST /v1.0/$batch``: JSON batching (tests/emulators/graph_batch.py)."""
        return batch(self, request)

    def _route_openid(self, request: Request, tenant: str) -> Answer:
        return 200, self._openid_configuration(tenant), {}

    def _route_token(self, request: Request, tenant: str) -> Answer:
        status, payload = self._token_endpoint(request.headers, parse_qs(request.body.decode()))
        return status, payload, {}

    def _route_authorize(self, request: Request, tenant: str) -> Answer:
        return self._authorize(request.query)

    def _route_subscribe(self, request: Request) -> Answer:
        status, created = self._create_subscription(request.user, request.payload)
        return status, created, {}

    def _route_subscription(self, request: Request, subscription: str) -> Answer:
        return self._one_subscription(request.user, request.method, subscription, request.payload)

    def _route_me(self, request: Request) -> Answer:
        return 200, self._me(request.user), {}

    def _route_calendars(self, request: Request) -> Answer:
        return 200, self._calendar_list(request.user, request.query), {}

    def _route_create_calendar(self, request: Request) -> Answer:
        """``POST /me/calendars``: names are unique in a mailbox (409 ErrorFolderExists)."""
        name = request.payload.get("name")
        if not isinstance(name, str) or not name:
            return 400, graph_error("ErrorInvalidRequest", "A calendar needs a name."), {}
        with self._lock:
            for calendar in self._calendars.values():
                if calendar.owner == request.user and calendar.entry["name"] == name:
                    message = "A folder with the specified name already exists."
                    return 409, graph_error("ErrorFolderExists", message), {}
            calendar_id = "AAMkCal" + self._new_id()
        entry = self.add_calendar(calendar_id, user=request.user, name=name)
        if isinstance(request.payload.get("color"), str):
            entry["color"] = request.payload["color"]
        return 201, self._listed(entry), {}

    def _route_reply(self, request: Request, calendar: str, event: str, action: str) -> Answer:
        found = self._owned_calendar(request.user, calendar)
        if found is None:
            return _item_not_found()
        return self._reply(found, event, action)

    def _route_reply_anywhere(self, request: Request, event: str, action: str) -> Answer:
        for calendar in self._calendars.values():
            if calendar.owner == request.user and event in calendar.items:
                return self._reply(calendar, event, action)
        return _item_not_found()

    def _reply(self, calendar: _Calendar, event_id: str, action: str) -> Answer:
        """accept/decline/tentativelyAccept: 202, no body; never by the organizer."""
        if action not in REPLIES:
            return self.no_route()
        with self._lock:
            stored = calendar.items.get(event_id)
            if stored is None:
                return _item_not_found()
            if stored.get("isOrganizer"):
                message = "Your request can't be completed. You are the organizer of this meeting."
                return 400, graph_error("ErrorInvalidRequest", message), {}
            if action == "decline":
                self._replace(calendar, event_id, None)  # moved to Deleted Items
            else:
                updated = dict(replied(stored, action, _now()))
                updated["lastModifiedDateTime"] = _graph_timestamp()
                self._replace(calendar, event_id, updated)
        return 202, None, {}

    def _route_default_calendar(self, request: Request) -> Answer:
        """``/me/calendar``: the user's default calendar."""
        for calendar in self._calendars.values():
            if calendar.owner == request.user and calendar.entry.get("isDefaultCalendar"):
                return 200, self._listed(calendar.entry), {}
        return _item_not_found()

    def _listed(self, entry: dict[str, Any]) -> dict[str, Any]:
        if self.list_default_flag:
            return entry
        return {k: v for k, v in entry.items() if k != "isDefaultCalendar"}

    def _route_delta(self, request: Request, calendar: str) -> Answer:
        found = self._owned_calendar(request.user, calendar)
        if found is None:
            return _item_not_found()
        return self._delta(found, request.path, request.query, _prefer(request))

    def _route_create_event(self, request: Request, calendar: str) -> Answer:
        found = self._owned_calendar(request.user, calendar)
        if found is None:
            return _item_not_found()
        return self._create_event(found, request.payload, _prefer(request))

    def _route_calendar_event(self, request: Request, calendar: str, event: str) -> Answer:
        found = self._owned_calendar(request.user, calendar)
        if found is None:
            return _item_not_found()
        return self._single_event(found, request.method, event, request.payload, _prefer(request))

    def _route_other_in_calendar(self, request: Request, calendar: str) -> Answer:
        """Anything else under a calendar: the calendar must exist, the segment does not."""
        if self._owned_calendar(request.user, calendar) is None:
            return _item_not_found()
        return self.no_route()

    def _route_event(self, request: Request, event: str) -> Answer:
        """``/me/events/{id}``: the event in whichever of the user's calendars holds it."""
        for calendar in self._calendars.values():
            if calendar.owner == request.user and event in calendar.items:
                return self._single_event(
                    calendar, request.method, event, request.payload, _prefer(request)
                )
        return _item_not_found()

    def _owned_calendar(self, user: str, calendar_id: str) -> _Calendar | None:
        calendar = self._calendars.get(calendar_id)
        return calendar if calendar is not None and calendar.owner == user else None

    def _me(self, user: str) -> dict[str, Any]:
        profile = self._users[user]
        given, _, surname = profile.display_name.partition(" ")
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "businessPhones": [],
            "displayName": profile.display_name,
            "givenName": given,
            "jobTitle": None,
            "mail": profile.mail,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": surname or None,
            "userPrincipalName": profile.user_principal_name,
            "id": profile.id,
        }

    def _calendar_list(self, user: str, query: dict[str, list[str]]) -> dict[str, Any]:
        entries = [c.entry for c in self._calendars.values() if c.owner == user]
        top = int(query.get("$top", [DEFAULT_CALENDARS_PAGE_SIZE])[0])
        skip = int(query.get("$skip", ["0"])[0])
        body: dict[str, Any] = {
            "@odata.context": (
                f"https://graph.microsoft.com/v1.0/$metadata#users('{quote(user)}')/calendars"
            ),
            "value": [self._listed(entry) for entry in entries[skip : skip + top]],
        }
        if skip + top < len(entries):
            body["@odata.nextLink"] = (
                f"{self.api_base_url}me/calendars?{urlencode({'$top': top, '$skip': skip + top})}"
            )
        return body

    def _delta(
        self,
        calendar: _Calendar,
        path: str,
        query: dict[str, list[str]],
        prefer: dict[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        calendar_id = calendar.entry["id"]
        gone = graph_error("syncStateNotFound", "The sync state generation is not found.")
        if "$skiptoken" in query or "$deltatoken" in query:
            name = "$skiptoken" if "$skiptoken" in query else "$deltatoken"
            state = decode_token(query[name][0])
            if state is None or state.get("c") != calendar_id:
                return 400, graph_error("BadRequest", f"Invalid {name} value."), {}
            if state.get("e") != calendar.epoch:
                return 410, gone, {}
            if name == "$deltatoken":
                state = {
                    "c": calendar_id, "e": calendar.epoch, "since": state["s"],
                    "snap": calendar.seq, "after": "", "ws": state["ws"], "we": state["we"],
                }  # fmt: skip
        else:
            try:
                window_start = _parse_query_time(query["startDateTime"][0])
                window_end = _parse_query_time(query["endDateTime"][0])
            except (KeyError, ValueError):
                return (
                    400,
                    graph_error(
                        "ErrorInvalidParameter",
                        "This request requires a time window specified by the query string "
                        "parameters StartDateTime and EndDateTime.",
                    ),
                    {},
                )
            state = {
                "c": calendar_id, "e": calendar.epoch, "since": None, "snap": calendar.seq,
                "after": "", "ws": window_start.isoformat(), "we": window_end.isoformat(),
            }  # fmt: skip
        size = int(prefer.get("odata.maxpagesize", DEFAULT_DELTA_PAGE_SIZE))
        window = (dt.datetime.fromisoformat(state["ws"]), dt.datetime.fromisoformat(state["we"]))
        served = self._served_now(calendar)
        since, snap, after = state["since"], state["snap"], state["after"]
        if since is None:
            in_window = self._ids_in_window(calendar, window)
            candidates = in_window[bisect.bisect_right(in_window, after) :]
        else:
            candidates = sorted(
                served_id
                for served_id, seq in calendar.changed.items()
                if served_id > after and since < seq <= snap
            )
        page = candidates[:size]
        values: list[dict[str, Any]] = []
        for served_id in page:
            item = served.get(served_id)
            if item is not None and (item.get("_raw") or _in_window(item, window)):
                value = self._serialise(calendar, item, prefer.get("outlook.timezone"))
                if self.sparse_occurrences and not item.get("_raw"):
                    value = _sparse(value)
                values.append(value)
            else:
                values.append(
                    {
                        "@odata.type": "#microsoft.graph.event",
                        "id": served_id,
                        "@removed": {"reason": "deleted"},
                    }
                )
        link_base = f"{self.origin}{path}?"
        body: dict[str, Any] = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
            "value": values,
        }
        if len(candidates) > size:
            token = encode_token(dict(state, after=page[-1]))
            body["@odata.nextLink"] = f"{link_base}$skiptoken={token}"
        else:
            token = encode_token(
                {
                    "c": calendar_id,
                    "e": calendar.epoch,
                    "s": snap,
                    "ws": state["ws"],
                    "we": state["we"],
                }
            )
            body["@odata.deltaLink"] = f"{link_base}$deltatoken={token}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"}
        return 200, body, headers

    def _create_event(
        self, calendar: _Calendar, payload: dict[str, Any], prefer: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if "start" not in payload or "end" not in payload:
            return 400, graph_error("ErrorInvalidRequest", "Start and End are required."), {}
        problem = write_problem(payload)
        if problem:
            return 400, graph_error("ErrorInvalidRequest", problem), {}
        payload = with_attendee_status(payload)
        transaction = payload.get("transactionId")
        if transaction and transaction in calendar.transactions:
            existing = calendar.items.get(calendar.transactions[transaction])
            if existing is not None:
                return 201, self._serialise(calendar, existing, prefer.get("outlook.timezone")), {}
        event_id = self._new_id()
        stored = self._complete(calendar, dict(payload, id=event_id), None)
        self._replace(calendar, event_id, stored)
        if transaction:
            calendar.transactions[transaction] = event_id
        return 201, self._serialise(calendar, stored, prefer.get("outlook.timezone")), {}

    def _single_event(
        self,
        calendar: _Calendar,
        method: str,
        event_id: str,
        payload: dict[str, Any],
        prefer: dict[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        if not event_id.startswith("AAMk"):
            return 400, graph_error("ErrorInvalidIdMalformed", "Id is malformed."), {}
        stored = calendar.items.get(event_id)
        if stored is None:
            return _item_not_found()
        zone = prefer.get("outlook.timezone")
        if method == "GET":
            return 200, self._serialise(calendar, stored, zone), {}
        if method == "DELETE":
            self._replace(calendar, event_id, None)
            return 204, None, {}
        if method == "PATCH":
            problem = write_problem(payload)
            if problem:
                return 400, graph_error("ErrorInvalidRequest", problem), {}
            payload = with_attendee_status(payload)
            merged = {k: v for k, v in stored.items() if k != "lastModifiedDateTime"}
            merged.update(payload)
            updated = self._complete(calendar, merged, stored)
            self._replace(calendar, event_id, updated)
            return 200, self._serialise(calendar, updated, zone), {}
        return 405, graph_error("ErrorInvalidRequest", "Method not allowed."), {}


def _occurrence_days(recurrence: dict[str, Any], first: dt.date) -> list[dt.date]:
    """Local start dates of a daily or weekly patternedRecurrence."""
    pattern, bounds = recurrence["pattern"], recurrence["range"]
    interval = max(1, int(pattern.get("interval") or 1))
    start = dt.date.fromisoformat(bounds.get("startDate") or first.isoformat())
    kind = bounds.get("type", "noEnd")
    limit = int(bounds.get("numberOfOccurrences") or 0) if kind == "numbered" else _MAX_OCCURRENCES
    last = (
        dt.date.fromisoformat(bounds["endDate"])
        if kind == "endDate"
        else (_now() + _SERIES_HORIZON).date()
    )
    days: list[dt.date] = []
    if pattern["type"] == "daily":
        day = start
        while day <= last and len(days) < limit:
            days.append(day)
            day += dt.timedelta(days=interval)
    elif pattern["type"] == "weekly":
        weekdays = {_WEEKDAYS.index(d.lower()) for d in pattern.get("daysOfWeek") or []}
        week = start - dt.timedelta(days=start.weekday())
        while week <= last and len(days) < limit:
            for offset in range(7):
                day = week + dt.timedelta(days=offset)
                if offset in weekdays and start <= day <= last and len(days) < limit:
                    days.append(day)
            week += dt.timedelta(weeks=interval)
    elif pattern["type"] in ("absoluteMonthly", "absoluteYearly"):
        days = _absolute_days(pattern, interval, start, last, limit)
    else:
        raise ValueError(f"the emulator does not expand {pattern}")
    return days


def _absolute_days(
    pattern: dict[str, Any], interval: int, start: dt.date, last: dt.date, limit: int
) -> list[dt.date]:
    """absoluteMonthly/absoluteYearly: one day of the month (of one month) each period."""
    yearly = pattern["type"] == "absoluteYearly"
    step = 12 * interval if yearly else interval
    month = start.year * 12 + (int(pattern["month"]) if yearly else start.month) - 1
    days: list[dt.date] = []
    while len(days) < limit:
        year, index = divmod(month, 12)
        month += step
        try:
            day = dt.date(year, index + 1, int(pattern["dayOfMonth"]))
        except ValueError:
            continue  # no such day that month (the 31st of April): Graph skips it
        if day > last:
            break
        if day >= start:
            days.append(day)
    return days


def _sparse(value: dict[str, Any]) -> dict[str, Any]:
    """An occurrence as delta serves it: nothing of its series but what places it."""
    if value.get("type") != "occurrence":
        return value
    value = dict(value, **{"@odata.type": "#microsoft.graph.event"})
    return {key: value[key] for key in SPARSE_OCCURRENCE if key in value}


def _in_window(item: dict[str, Any], window: tuple[dt.datetime, dt.datetime]) -> bool:
    try:
        start = parse_date_time_time_zone(item["start"])
        end = parse_date_time_time_zone(item["end"])
    except (KeyError, TypeError, ValueError):
        return True  # malformed items are served as stored, for clients to cope with
    return start < window[1] and end > window[0]


def _parse_query_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _prefer(request: Request) -> dict[str, str]:
    return _parse_prefer(request.headers.get("Prefer") or "")


def _item_not_found() -> Answer:
    message = "The specified object was not found in the store."
    return 404, graph_error("ErrorItemNotFound", message), {}


def _parse_prefer(header: str) -> dict[str, str]:
    """``outlook.timezone="UTC", odata.maxpagesize=50`` → {name: value}."""
    preferences: dict[str, str] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name:
            preferences[name.strip()] = value.strip().strip('"')
    return preferences


def _teams_meeting(event_id: str) -> dict[str, Any]:
    thread = _b64(event_id.encode())[:32]
    return {
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0",
        "conferenceId": str(int(hashlib.sha256(event_id.encode()).hexdigest(), 16) % 10**9),
        "tollNumber": "+1 555-0100",
    }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _aad_error(error: str, code: int, message: str) -> dict[str, Any]:
    """An error body in the shape the Microsoft identity platform returns."""
    trace = str(uuid.uuid4())
    timestamp = _now().strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {trace} "
            f"Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": trace,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
