"""A stateful local fake of the Google Calendar v3 API and Google's OAuth token endpoint.

It exists so adapter tests (and cassette recordings) exercise real HTTP against the
payload shapes Google documents in its discovery document
(``googleapiclient/discovery_cache/documents/calendar.v3.json``), including the parts that
are hard to provoke against the real service: sync-token invalidation, revoked grants,
rate limits, server errors, dropped connections and malformed bodies.

Sync semantics follow Google's: every mutation of a calendar bumps its sequence number;
a ``nextSyncToken`` encodes the sequence at the start of the listing, so a later sync with
it returns exactly the items changed since (deleted ones as ``status: cancelled``).
Tokens are deterministic (no randomness) so recorded cassettes replay request-for-request.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from tests.emulators import faults
from tests.emulators.google_writes import with_attendee_defaults, write_problem
from tests.emulators.push import acceptable_callback
from tests.emulators.serving import (
    AccessTokens,
    Answer,
    QuietServer,
    Request,
    RestEmulator,
    Router,
    decode_token,
    encode_token,
    route,
)

API_PREFIX = "/calendar/v3"
_V3 = API_PREFIX[1:]
DEFAULT_USER = "alice@example.com"
DEFAULT_CLIENT_ID = "emulator-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
ACCESS_TOKEN_LIFETIME_SECONDS = 3599
DEFAULT_EVENTS_PAGE_SIZE = 250
MAX_EVENTS_PAGE_SIZE = 2500
DEFAULT_CALENDAR_LIST_PAGE_SIZE = 100
MAX_CALENDAR_LIST_PAGE_SIZE = 250
#: Channel lifetime when events.watch asks for none (Google's documented default), and
#: the longest one granted.
DEFAULT_CHANNEL_TTL_SECONDS = 604800
MAX_CHANNEL_TTL_SECONDS = 2592000

#: Keys the emulator keeps for itself on stored events; never serialised.
_PRIVATE_KEYS = ("_seq", "_raw")


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def google_error(code: int, reason: str, message: str, status: str | None = None) -> dict[str, Any]:
    """An error body in the shape Google's JSON APIs return."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "errors": [{"domain": "global", "reason": reason, "message": message}],
    }
    if status:
        body["status"] = status
    return {"error": body}


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------


@dataclass
class _Calendar:
    entry: dict[str, Any]
    owner: str
    seq: int = 0
    epoch: int = 0
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Grant:
    user: str
    refresh_token: str
    revoked: bool = False


@dataclass
class _Channel:
    """An events.watch channel: notifications go to ``address`` until it expires or stops."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    owner: str
    address: str
    token: str | None
    expires_at: float
    messages: int = 0
    stopped: bool = False

    def live(self) -> bool:
        return not self.stopped and self.expires_at > time.time()


class Fault(faults.Fault):
    """A fault rendered as Google's JSON APIs answer errors (``reason`` as Google names it)."""

    default_reason = "backendError"
    rate_limit_reason = "rateLimitExceeded"


class GoogleCalendarEmulator(RestEmulator):
    """The fake server plus a Python API for tests to arrange state and faults."""

    api_prefix = API_PREFIX
    malformed_json = b'{"kind": "calendar#events", "items": [{"id": '
    server_header = "ESF"
    #: Google's front end keeps connections alive (HTTP/1.1; HTTP/2 where offered).
    http_version = "HTTP/1.1"
    thread_name = "google-emulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> None:
        super().__init__(AccessTokens("ya29.emulator-", ACCESS_TOKEN_LIFETIME_SECONDS))
        self.client_id = client_id
        self.client_secret = client_secret
        self.rotate_refresh_tokens = False
        #: Who the consent screen (``/o/oauth2/v2/auth``) signs in, and whether they agree
        #: (False: Google's redirect with ``error=access_denied``).
        self.signed_in_user = DEFAULT_USER
        self.consent_granted = True
        #: Status Meet conference creation reports: "success", "pending" or "failure".
        self.conference_create_status = "success"
        #: Whether incremental (syncToken) listings report a cancelled instance of a series
        #: as bare ``{kind, etag, id, status}``, with no ``recurringEventId`` or
        #: ``originalStartTime``: what real incremental syncs often do (see
        #: ``_bare_tombstone``). Full listings keep the fields the discovery document
        #: guarantees for cancelled exceptions.
        self.bare_cancelled_instances = True
        self._calendars: dict[str, _Calendar] = {}
        self._grants: dict[str, _Grant] = {}  # refresh token -> grant
        self._codes: dict[str, str] = {}  # authorization code -> user
        self._counter = 0
        self._channels: dict[str, _Channel] = {}
        self.open_routes = Router(
            route("POST", "token", self._route_token, locked=False),
            route("GET", "o/oauth2/v2/auth", self._route_authorize, locked=False),
        )
        self.api_routes = Router(
            route("POST", f"{_V3}/channels/stop", self._route_stop_channel),
            route("POST", f"{_V3}/calendars/{{calendar}}/events/watch", self._route_watch),
            route("GET", f"{_V3}/users/me/calendarList", self._route_calendar_list),
            route("POST", f"{_V3}/calendars", self._route_insert_calendar),
            route("PATCH", f"{_V3}/users/me/calendarList/{{calendar}}", self._route_patch_entry),
            route("GET", f"{_V3}/users/me/calendarList/{{calendar}}", self._route_list_entry),
            route("GET", f"{_V3}/calendars/{{calendar}}/events", self._route_list_events),
            route("POST", f"{_V3}/calendars/{{calendar}}/events", self._route_insert_event),
            route("*", f"{_V3}/calendars/{{calendar}}/events/{{event}}", self._route_event),
        )
        self._server = QuietServer((host, port), self._handler_class())

    @property
    def base_url(self) -> str:
        """What the adapter takes as ``api_base_url`` (it appends ``calendar/v3/``)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def authorize_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/o/oauth2/v2/auth"

    # -- OAuth -------------------------------------------------------------

    def issue_grant(
        self, user: str = DEFAULT_USER, *, access_token_valid: bool = True
    ) -> dict[str, Any]:
        """Credentials as a finished authorization would store them."""
        with self._lock:
            refresh_token = self._new_secret("1//refresh")
            self._grants[refresh_token] = _Grant(user=user, refresh_token=refresh_token)
            credentials: dict[str, Any] = {"refresh_token": refresh_token, "email": user}
            if access_token_valid:
                token, expires_at = self._new_access_token(user)
                credentials["access_token"] = token
                credentials["expiry"] = (
                    dt.datetime.fromtimestamp(expires_at, dt.UTC).isoformat().replace("+00:00", "Z")
                )
            else:
                credentials["access_token"] = "ya29.expired-" + secrets.token_hex(4)
                credentials["expiry"] = "2000-01-01T00:00:00Z"
            return credentials

    def authorization_code(self, user: str = DEFAULT_USER) -> str:
        """A one-time code as Google's consent screen would hand to the redirect URI."""
        with self._lock:
            code = self._new_secret("4/code")
            self._codes[code] = user
            return code

    def revoke_grant(self, refresh_token: str) -> None:
        """The user removed access: refreshing answers ``invalid_grant``, tokens stop working."""
        with self._lock:
            grant = self._grants[refresh_token]
            grant.revoked = True
            self._access_tokens.forget_user(grant.user)

    def revoke_user(self, user: str = DEFAULT_USER) -> None:
        """The user removed the app's access at Google: every grant of theirs is revoked."""
        with self._lock:
            tokens = [t for t, grant in self._grants.items() if grant.user == user]
        for refresh_token in tokens:
            self.revoke_grant(refresh_token)

    # -- calendars and events ---------------------------------------------

    def add_calendar(
        self,
        calendar_id: str,
        *,
        user: str = DEFAULT_USER,
        summary: str | None = None,
        primary: bool = False,
        access_role: str = "owner",
        time_zone: str = "UTC",
        conference_solution_types: tuple[str, ...] = ("hangoutsMeet",),
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": '"0"',
            "id": calendar_id,
            "summary": summary or calendar_id,
            "timeZone": time_zone,
            "colorId": "14",
            "backgroundColor": "#9fe1e7",
            "foregroundColor": "#000000",
            "selected": True,
            "accessRole": access_role,
            "defaultReminders": [],
            "conferenceProperties": {
                "allowedConferenceSolutionTypes": list(conference_solution_types)
            },
        }
        if primary:
            entry["primary"] = True
        with self._lock:
            self._calendars[calendar_id] = _Calendar(entry=entry, owner=user)
        return entry

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an event as its organizer would; returns the stored resource."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            return self._store_event(calendar, dict(event))

    def put_raw_item(self, calendar_id: str, item: dict[str, Any]) -> None:
        """Store an item exactly as given (malformed data, unknown fields/enums)."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            calendar.seq += 1
            item = dict(item, _seq=calendar.seq, _raw=True)
            item_id = str(item.get("id") or self._new_id())
            calendar.events[item_id] = item
            self._notify_watchers(calendar)

    def update_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            calendar = self._calendars[calendar_id]
            current = {k: v for k, v in calendar.events[event_id].items() if k != "_seq"}
            current.update(changes)
            return self._store_event(calendar, current)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Delete as Google does: the item stays as a ``cancelled`` tombstone for syncs."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            self._tombstone(calendar, event_id)

    def cancel_instance(
        self, calendar_id: str, master_id: str, original_start: dict[str, str]
    ) -> dict[str, Any]:
        """Cancel one occurrence of a recurring series (an exception with status cancelled)."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            if master_id not in calendar.events:
                raise KeyError(master_id)
            calendar.seq += 1
            # Google reports a cancelled occurrence with little more than what it cancels.
            instance = {
                "kind": "calendar#event",
                "etag": f'"{calendar.seq}"',
                "id": f"{master_id}_{_instance_suffix(original_start)}",
                "status": "cancelled",
                "recurringEventId": master_id,
                "originalStartTime": original_start,
                "_seq": calendar.seq,
            }
            calendar.events[instance["id"]] = instance
            self._notify_watchers(calendar)
            return _public(instance)

    def override_instance(
        self,
        calendar_id: str,
        master_id: str,
        original_start: dict[str, str],
        **changes: Any,
    ) -> dict[str, Any]:
        """Modify one occurrence of a recurring series (an exception instance)."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            master = calendar.events[master_id]
            instance = {
                k: v
                for k, v in master.items()
                if k not in ("recurrence", "id", "iCalUID", "etag", "_seq")
            }
            instance.update(
                id=f"{master_id}_{_instance_suffix(original_start)}",
                recurringEventId=master_id,
                originalStartTime=original_start,
                iCalUID=master.get("iCalUID"),
            )
            instance.update(changes)
            return self._store_event(calendar, instance)

    def rename_calendar(self, calendar_id: str, summary: str) -> None:
        """The owner renamed the calendar: its calendarList entry carries the new summary."""
        with self._lock:
            self._calendars[calendar_id].entry["summary"] = summary

    def stored_items(self, calendar_id: str) -> list[dict[str, Any]]:
        """Copies of every stored item, tombstones included (``_raw`` marks verbatim items)."""
        with self._lock:
            return [dict(item) for item in self._calendars[calendar_id].events.values()]

    def expire_sync_tokens(self, calendar_id: str) -> None:
        """Every sync and page token of this calendar now answers 410 fullSyncRequired."""
        with self._lock:
            self._calendars[calendar_id].epoch += 1

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """The stored event as the API would serialise it."""
        with self._lock:
            return _public(self._calendars[calendar_id].events[event_id])

    def complete_pending_conferences(self, calendar_id: str) -> None:
        """Google finished creating the Meet conferences it reported as pending."""
        with self._lock:
            calendar = self._calendars[calendar_id]
            for event_id, stored in list(calendar.events.items()):
                request = stored.get("conferenceData", {}).get("createRequest", {})
                if request.get("status", {}).get("statusCode") == "pending":
                    body = {k: v for k, v in stored.items() if k != "_seq"}
                    body["conferenceData"] = _meet_conference(event_id, request, "success")
                    self._store_event(calendar, body)

    # -- push channels (events.watch / channels.stop) ---------------------

    def channels(self, *, live_only: bool = True) -> list[dict[str, Any]]:
        """The watch channels (as the Channel resource), live ones only unless asked."""
        with self._lock:
            return [
                dict(self._channel_resource(c), address=c.address, stopped=c.stopped)
                for c in self._channels.values()
                if c.live() or not live_only
            ]

    def expire_channel(self, channel_id: str) -> None:
        """The channel reached its expiration: no more notifications."""
        with self._lock:
            self._channels[channel_id].expires_at = time.time() - 1

    def _watch(
        self, user: str, calendar: _Calendar, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        channel_id, address = payload.get("id"), payload.get("address")
        if not isinstance(channel_id, str) or not channel_id:
            return 400, google_error(400, "required", "Required channel id")
        if payload.get("type") not in ("web_hook", "webhook"):
            return 400, google_error(400, "invalid", "Invalid channel type")
        if not isinstance(address, str) or not acceptable_callback(address):
            return 400, google_error(
                400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS"
            )
        if channel_id in self._channels:
            return 400, google_error(400, "channelIdNotUnique", "Channel id not unique")
        try:
            ttl = int((payload.get("params") or {}).get("ttl", DEFAULT_CHANNEL_TTL_SECONDS))
        except (TypeError, ValueError):
            return 400, google_error(400, "invalid", "Invalid value for ttl")
        calendar_id = calendar.entry["id"]
        channel = _Channel(
            id=channel_id,
            # Google's resourceId names the watched resource: the same for every channel on it.
            resource_id=hashlib.sha1(calendar_id.encode()).hexdigest()[:27],
            resource_uri=(
                f"https://www.googleapis.com/calendar/v3/calendars/{quote(calendar_id)}"
                "/events?alt=json"
            ),
            calendar_id=calendar_id,
            owner=user,
            address=address,
            token=payload.get("token") if isinstance(payload.get("token"), str) else None,
            expires_at=time.time() + max(1, min(ttl, MAX_CHANNEL_TTL_SECONDS)),
        )
        self._channels[channel_id] = channel
        self._notify(channel, "sync")
        return 200, self._channel_resource(channel)

    def _stop_channel(
        self, user: str, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        channel = self._channels.get(str(payload.get("id")))
        if (
            channel is None
            or channel.stopped
            or channel.owner != user
            or channel.resource_id != payload.get("resourceId")
        ):
            return 404, google_error(
                404, "notFound", f"Channel '{payload.get('id')}' not found for project"
            )
        channel.stopped = True
        return 204, None

    def _channel_resource(self, channel: _Channel) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "api#channel",
            "id": channel.id,
            "resourceId": channel.resource_id,
            "resourceUri": channel.resource_uri,
            "expiration": str(int(channel.expires_at * 1000)),
        }
        if channel.token is not None:
            resource["token"] = channel.token
        return resource

    def _notify_watchers(self, calendar: _Calendar) -> None:
        """A calendar changed: every live channel on it gets an ``exists`` message."""
        for channel in self._channels.values():
            if channel.calendar_id == calendar.entry["id"] and channel.live():
                self._notify(channel, "exists")

    def _notify(self, channel: _Channel, state: str) -> None:
        channel.messages += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.formatdate(channel.expires_at, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.messages),
            "Content-Length": "0",
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self._push.send(channel.address, headers)

    # -- internals ---------------------------------------------------------

    def _new_secret(self, prefix: str) -> str:
        return f"{prefix}-{secrets.token_urlsafe(16)}"

    def _new_id(self) -> str:
        self._counter += 1
        return f"emu{self._counter:08d}"

    def _new_access_token(self, user: str) -> tuple[str, float]:
        return self._access_tokens.issue(user)

    def _store_event(self, calendar: _Calendar, event: dict[str, Any]) -> dict[str, Any]:
        event_id = str(event.get("id") or self._new_id())
        previous = calendar.events.get(event_id)
        calendar.seq += 1
        now = _now_rfc3339()
        stored: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": (previous or {}).get("created", now),
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "creator": {"email": calendar.owner, "self": True},
            "organizer": {"email": calendar.owner, "self": True},
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        stored.update({k: v for k, v in event.items() if v is not None})
        stored["id"] = event_id
        stored["updated"] = now
        stored["etag"] = f'"{calendar.seq}"'
        stored["_seq"] = calendar.seq
        if previous is not None and "_raw" not in previous:
            stored["sequence"] = int(previous.get("sequence", 0)) + 1
        calendar.events[event_id] = stored
        self._notify_watchers(calendar)
        return _public(stored)

    def _tombstone(self, calendar: _Calendar, event_id: str) -> None:
        previous = calendar.events[event_id]
        calendar.seq += 1
        tombstone = {
            "kind": "calendar#event",
            "etag": f'"{calendar.seq}"',
            "id": event_id,
            "status": "cancelled",
            "_seq": calendar.seq,
        }
        for key in ("recurringEventId", "originalStartTime"):
            if key in previous:
                tombstone[key] = previous[key]
        calendar.events[event_id] = tombstone
        self._notify_watchers(calendar)
        # Deleting a series master deletes its exceptions too.
        for other_id, other in list(calendar.events.items()):
            if other.get("recurringEventId") == event_id and other.get("status") != "cancelled":
                self._tombstone(calendar, other_id)

    # -- request handling (called from the server thread) -----------------

    def fault_error(self, fault: faults.Fault) -> dict[str, Any]:
        return google_error(fault.status, fault.reason, f"Injected {fault.status}")

    def outside_api(self) -> Answer:
        return 404, google_error(404, "notFound", "Not Found"), {}

    no_route = outside_api

    def unauthenticated(self) -> Answer:
        message = "Request had invalid authentication credentials."
        return 401, google_error(401, "authError", message, "UNAUTHENTICATED"), {}

    def unreadable_body(self) -> Answer:
        return 400, google_error(400, "parseError", "Parse Error"), {}

    def _route_token(self, request: Request) -> Answer:
        status, body = self._token_endpoint(parse_qs(request.body.decode()))
        return status, body, {}

    def _route_authorize(self, request: Request) -> Answer:
        """Google's consent screen, already answered: back to ``redirect_uri`` with a
        code (or ``error=access_denied``) and the ``state`` given, as Google redirects."""

        def one(name: str) -> str:
            return request.query.get(name, [""])[0]

        if one("client_id") != self.client_id or one("response_type") != "code":
            return 400, {"error": "invalid_request", "error_description": "Bad Request"}, {}
        if not one("redirect_uri"):
            return 400, {"error": "invalid_request", "error_description": "redirect_uri"}, {}
        if self.consent_granted:
            answer = {"code": self.authorization_code(self.signed_in_user), "state": one("state")}
        else:
            answer = {"error": "access_denied", "state": one("state")}
        separator = "&" if "?" in one("redirect_uri") else "?"
        return 302, None, {"Location": one("redirect_uri") + separator + urlencode(answer)}

    def _route_stop_channel(self, request: Request) -> Answer:
        status, body = self._stop_channel(request.user, request.payload)
        return status, body, {}

    def _route_watch(self, request: Request, calendar: str) -> Answer:
        watched = self._visible_calendar(request.user, calendar)
        if watched is None:
            return self.no_route()
        status, body = self._watch(request.user, watched, request.payload)
        return status, body, {}

    def _route_calendar_list(self, request: Request) -> Answer:
        status, body = self._calendar_list(request.user, request.query)
        return status, body, {}

    def _route_insert_calendar(self, request: Request) -> Answer:
        """calendars.insert: a secondary calendar the user owns, listed at once."""
        summary = request.payload.get("summary")
        if not isinstance(summary, str) or not summary:
            return 400, google_error(400, "required", "Missing title."), {}
        with self._lock:
            calendar_id = f"{self._new_id()}@group.calendar.google.com"
        entry = self.add_calendar(
            calendar_id,
            user=request.user,
            summary=summary,
            time_zone=str(request.payload.get("timeZone") or "UTC"),
        )
        resource = {
            "kind": "calendar#calendar",
            "etag": entry["etag"],
            "id": calendar_id,
            "summary": summary,
            "timeZone": entry["timeZone"],
            "conferenceProperties": entry["conferenceProperties"],
        }
        return 200, resource, {}

    def _route_patch_entry(self, request: Request, calendar: str) -> Answer:
        """calendarList.patch; colours as RGB need ``colorRgbFormat=true``, as Google says."""
        with self._lock:
            found = self._visible_calendar(request.user, calendar)
            if found is None:
                return 404, google_error(404, "notFound", "Not Found"), {}
            changes = dict(request.payload)
            rgb = {"backgroundColor", "foregroundColor"} & set(changes)
            if rgb and request.query.get("colorRgbFormat", ["false"])[0] != "true":
                return 400, google_error(400, "invalid", "colorRgbFormat is required"), {}
            if rgb:
                changes.pop("colorId", None)
                found.entry.pop("colorId", None)
            found.entry.update(changes)
            return 200, dict(found.entry), {}

    def _route_list_entry(self, request: Request, calendar: str) -> Answer:
        status, body = self._calendar_list_entry(request.user, calendar)
        return status, body, {}

    def _route_list_events(self, request: Request, calendar: str) -> Answer:
        found = self._visible_calendar(request.user, calendar)
        if found is None:
            return self.no_route()
        status, body = self._list_events(found, request.query)
        return status, body, {}

    def _route_insert_event(self, request: Request, calendar: str) -> Answer:
        found = self._visible_calendar(request.user, calendar)
        if found is None:
            return self.no_route()
        status, body = self._insert_event(found, request.query, request.payload)
        return status, body, {}

    def _route_event(self, request: Request, calendar: str, event: str) -> Answer:
        found = self._visible_calendar(request.user, calendar)
        if found is None:
            return self.no_route()
        payload = request.payload
        if request.method in ("PUT", "PATCH"):
            problem = write_problem(payload, request.query)
            if problem:
                return 400, google_error(400, "invalid", problem), {}
            payload = with_attendee_defaults(payload, found.owner)
        status, body = self._single_event(found, request.method, event, request.query, payload)
        return status, body, {}

    def _token_endpoint(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        def one(name: str) -> str:
            return form.get(name, [""])[0]

        if one("client_id") != self.client_id or one("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        with self._lock:
            grant_type = one("grant_type")
            if grant_type == "refresh_token":
                grant = self._grants.get(one("refresh_token"))
                if grant is None or grant.revoked:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    }
                response = self._token_response(grant.user)
                if self.rotate_refresh_tokens:
                    del self._grants[grant.refresh_token]
                    rotated = self._new_secret("1//refresh")
                    self._grants[rotated] = _Grant(user=grant.user, refresh_token=rotated)
                    response["refresh_token"] = rotated
                return 200, response
            if grant_type == "authorization_code":
                user = self._codes.pop(one("code"), None)
                if user is None:
                    return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
                refresh_token = self._new_secret("1//refresh")
                self._grants[refresh_token] = _Grant(user=user, refresh_token=refresh_token)
                return 200, dict(self._token_response(user), refresh_token=refresh_token)
        return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}

    def _token_response(self, user: str) -> dict[str, Any]:
        token, _ = self._new_access_token(user)
        return {
            "access_token": token,
            "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
            "scope": "https://www.googleapis.com/auth/calendar",
            "token_type": "Bearer",
        }

    def _visible_calendar(self, user: str, calendar_id: str) -> _Calendar | None:
        if calendar_id == "primary":
            for calendar in self._calendars.values():
                if calendar.owner == user and calendar.entry.get("primary"):
                    return calendar
            return None
        calendar = self._calendars.get(calendar_id)
        return calendar if calendar is not None and calendar.owner == user else None

    def _calendar_list(self, user: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        entries = [c.entry for c in self._calendars.values() if c.owner == user]
        size = _page_size(query, DEFAULT_CALENDAR_LIST_PAGE_SIZE, MAX_CALENDAR_LIST_PAGE_SIZE)
        offset = 0
        if "pageToken" in query:
            decoded = decode_token(query["pageToken"][0])
            if decoded is None or "offset" not in decoded:
                return 400, google_error(400, "invalid", "Invalid page token value.")
            offset = int(decoded["offset"])
        body: dict[str, Any] = {
            "kind": "calendar#calendarList",
            "etag": f'"{len(entries)}"',
            "items": entries[offset : offset + size],
        }
        if offset + size < len(entries):
            body["nextPageToken"] = encode_token({"offset": offset + size})
        else:
            body["nextSyncToken"] = encode_token({"calendarList": user, "n": len(entries)})
        return 200, body

    def _calendar_list_entry(self, user: str, calendar_id: str) -> tuple[int, dict[str, Any]]:
        calendar = self._visible_calendar(user, calendar_id)
        if calendar is None:
            return 404, google_error(404, "notFound", "Not Found")
        return 200, calendar.entry

    def _list_events(
        self, calendar: _Calendar, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        size = _page_size(query, DEFAULT_EVENTS_PAGE_SIZE, MAX_EVENTS_PAGE_SIZE)
        calendar_id = calendar.entry["id"]
        gone = google_error(
            410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
        )
        if "pageToken" in query:
            state = decode_token(query["pageToken"][0])
            if state is None or state.get("c") != calendar_id or "after" not in state:
                return 400, google_error(400, "invalid", "Invalid page token value.")
            if state.get("e") != calendar.epoch:
                return 410, gone
        elif "syncToken" in query:
            token = decode_token(query["syncToken"][0])
            if token is None or token.get("c") != calendar_id or "s" not in token:
                return 400, google_error(400, "invalid", "Invalid sync token value.")
            if token.get("e") != calendar.epoch:
                return 410, gone
            for forbidden in ("timeMin", "timeMax", "updatedMin", "orderBy", "q", "iCalUID"):
                if forbidden in query:
                    return 400, google_error(
                        400, "invalid", f"Sync token cannot be used with {forbidden}."
                    )
            state = {"c": calendar_id, "e": calendar.epoch, "since": token["s"], "after": ""}
            state["snap"] = calendar.seq
        else:
            state = {"c": calendar_id, "e": calendar.epoch, "since": None, "after": ""}
            state["snap"] = calendar.seq
        show_deleted = state["since"] is not None or _flag(query, "showDeleted")
        since, snap, after = state["since"], state["snap"], state["after"]
        candidates = sorted(
            (event_id, stored)
            for event_id, stored in calendar.events.items()
            if event_id > after
            and stored["_seq"] <= snap
            and (since is None or stored["_seq"] > since)
            and (show_deleted or stored.get("status") != "cancelled")
        )
        page = candidates[:size]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"{calendar.seq}"',
            "summary": calendar.entry["summary"],
            "description": "",
            "updated": _now_rfc3339(),
            "timeZone": calendar.entry["timeZone"],
            "accessRole": calendar.entry["accessRole"],
            "defaultReminders": [],
            "items": [
                _bare_tombstone(stored)
                if since is not None and self.bare_cancelled_instances
                else _public(stored)
                for _, stored in page
            ],
        }
        if len(candidates) > size:
            body["nextPageToken"] = encode_token(dict(state, after=page[-1][0]))
        else:
            body["nextSyncToken"] = encode_token({"c": calendar_id, "e": calendar.epoch, "s": snap})
        return 200, body

    def _insert_event(
        self, calendar: _Calendar, query: dict[str, list[str]], payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if "start" not in payload or "end" not in payload:
            return 400, google_error(400, "required", "Missing end time.")
        problem = write_problem(payload, query)
        if problem:
            return 400, google_error(400, "invalid", problem)
        event_id = payload.get("id")
        if event_id and event_id in calendar.events:
            return 409, google_error(409, "duplicate", "The requested identifier already exists.")
        payload = with_attendee_defaults(payload, calendar.owner)
        return 200, self._store_event(calendar, self._with_conference(query, payload))

    def _single_event(
        self,
        calendar: _Calendar,
        method: str,
        event_id: str,
        query: dict[str, list[str]],
        payload: dict[str, Any],
    ) -> tuple[int, dict[str, Any] | None]:
        stored = calendar.events.get(event_id)
        if stored is None:
            return 404, google_error(404, "notFound", "Not Found")
        deleted = stored.get("status") == "cancelled" and "recurringEventId" not in stored
        if method == "GET":
            return 200, _public(stored)
        if method == "DELETE":
            if deleted:
                return 410, google_error(410, "deleted", "Resource has been deleted")
            self._tombstone(calendar, event_id)
            return 204, None
        if method == "PUT":
            if "start" not in payload or "end" not in payload:
                return 400, google_error(400, "required", "Missing end time.")
            body = self._with_conference(query, dict(payload, id=event_id))
            body.setdefault("status", "confirmed")
            for keep in ("created", "iCalUID", "sequence"):
                if keep in stored:
                    body[keep] = stored[keep]
            return 200, self._store_event(calendar, body)
        if method == "PATCH":
            if deleted:
                return 404, google_error(404, "notFound", "Not Found")
            merged = {k: v for k, v in stored.items() if k != "_seq"}
            merged.update(payload)
            return 200, self._store_event(calendar, self._with_conference(query, merged))
        return 405, google_error(405, "methodNotAllowed", "Method Not Allowed")

    def _with_conference(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        """Honour a Meet createRequest, but only with conferenceDataVersion=1 (as Google does)."""
        body = dict(body)
        request = (body.get("conferenceData") or {}).get("createRequest")
        if not request or "status" in request:
            return body
        if query.get("conferenceDataVersion", ["0"])[0] != "1":
            body.pop("conferenceData")
            return body
        if not body.get("id"):
            body["id"] = self._new_id()
        body["conferenceData"] = _meet_conference(
            body["id"], request, self.conference_create_status
        )
        return body


def _meet_conference(event_id: str, request: dict[str, Any], status: str) -> dict[str, Any]:
    create_request = {
        "requestId": request.get("requestId", ""),
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
        "status": {"statusCode": status},
    }
    if status != "success":
        return {"createRequest": create_request}
    code = "".join(c for c in event_id.lower() if c.isalnum())[-10:].rjust(10, "a")
    meeting_code = f"{code[:3]}-{code[3:7]}-{code[7:]}"
    return {
        "createRequest": create_request,
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{meeting_code}",
                "label": f"meet.google.com/{meeting_code}",
            }
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": meeting_code,
    }


def _instance_suffix(original_start: dict[str, str]) -> str:
    if "date" in original_start:
        return original_start["date"].replace("-", "")
    moment = dt.datetime.fromisoformat(original_start["dateTime"]).astimezone(dt.UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _bare_tombstone(stored: dict[str, Any]) -> dict[str, Any]:
    """A cancelled instance as real incremental syncs report it: only what names it.

    The discovery document (``Event.status``) only guarantees ``id``, ``recurringEventId``
    and ``originalStartTime`` on cancelled exceptions, yet real incremental syncs send a
    deleted recurring instance as ``{id, status: "cancelled"}`` alone, the id being
    ``<master>_<instant>`` (reported e.g. in KeepSoftwareSimple/compass-calendar PR #2808).
    Anything else is served as stored.
    """
    if stored.get("status") != "cancelled" or not stored.get("recurringEventId"):
        return _public(stored)
    return {k: stored[k] for k in ("kind", "etag", "id", "status") if k in stored}


def _public(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k not in _PRIVATE_KEYS}


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[0].lower() == "true"


def _page_size(query: dict[str, list[str]], default: int, maximum: int) -> int:
    try:
        requested = int(query.get("maxResults", [default])[0])
    except ValueError:
        requested = default
    return max(1, min(requested, maximum))
