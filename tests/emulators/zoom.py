"""A stateful local fake of Zoom's OAuth token endpoint and meeting API.

Shapes follow Zoom's published API reference: ``POST /oauth/token`` with HTTP Basic
client authentication and rotating refresh tokens (every refresh returns a new refresh
token and retires the old one); ``POST /v2/users/me/meetings`` → 201 with a 64-bit
``id``, ``join_url``, ``start_url``, ``password``; ``PATCH``/``DELETE /v2/meetings/{id}``
→ 204; an invalid or expired access token → 401 ``{"code": 124}``; more than
``daily_create_limit`` creations → 429 with ``X-RateLimit-Type: Daily-limit``.

``OAuthEmulator`` is the shared part (token endpoint, grants, faults, request log) that
the GoTo emulator reuses.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.emulators.faults import Fault, FaultQueue, RecordedRequest, requests_matching
from tests.emulators.serving import BackgroundServer, QuietHandler, QuietServer

ACCESS_TOKEN_LIFETIME = 3599


class OAuthEmulator(BackgroundServer):
    """Token endpoint with rotating refresh tokens, plus a tiny router for API calls."""

    client_id = "emulator-client"
    client_secret = "emulator-secret"  # test-only, not a secret anywhere

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expiry)
        self.codes: dict[str, str] = {}
        self.revoked_users: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.faults = FaultQueue()
        #: Who the authorize page signs in, and whether they decline.
        self.consenting_user = "alice@example.com"
        self.consent_denied = False
        self._server = QuietServer(("127.0.0.1", 0), _handler(self))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/oauth/authorize"

    # -- arranging state ----------------------------------------------------

    def issue_grant(self, user: str = "alice@example.com") -> dict[str, Any]:
        """Credentials as a finished authorization stores them (access token valid)."""
        with self.lock:
            refresh = "rt-" + secrets.token_hex(8)
            self.refresh_tokens[refresh] = user
            access = self._new_access(user)
            return {
                "access_token": access,
                "refresh_token": refresh,
                "expires_at": time.time() + ACCESS_TOKEN_LIFETIME,
            }

    def authorization_code(self, user: str = "alice@example.com") -> str:
        with self.lock:
            code = "code-" + secrets.token_hex(8)
            self.codes[code] = user
            return code

    def expire_access_tokens(self) -> None:
        """Every access token is now rejected (401 code 124) until refreshed."""
        with self.lock:
            self.access_tokens.clear()

    def revoke(self, user: str = "alice@example.com") -> None:
        """The user removed the app: refreshes fail with invalid_grant, tokens stop working."""
        with self.lock:
            self.revoked_users.add(user)
            self.access_tokens.clear()

    def inject(self, path_prefix: str, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests under ``path_prefix`` with ``fault``."""
        self.faults.add(fault, times, path_prefix)

    def calls(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self.lock:
            return requests_matching(self.requests, method, prefix=path_prefix)

    # -- serving --------------------------------------------------------------

    def _new_access(self, user: str) -> str:
        token = "at-" + secrets.token_hex(8)
        self.access_tokens[token] = (user, time.time() + ACCESS_TOKEN_LIFETIME)
        return token

    def user_for(self, headers: Any) -> str | None:
        value = headers.get("Authorization") or ""
        if not value.startswith("Bearer "):
            return None
        found = self.access_tokens.get(value[7:])
        if found is None or found[1] < time.time() or found[0] in self.revoked_users:
            return None
        return found[0]

    def token(self, headers: Any, form: dict[str, str]) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client", "reason": "Invalid client_id or client_secret"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            user = self.codes.pop(form.get("code", ""), None)
        elif grant == "refresh_token":
            user = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        else:
            return 400, {"error": "unsupported_grant_type", "reason": "Unsupported grant type"}
        if user is None or user in self.revoked_users:
            return 400, {"error": "invalid_grant", "reason": "Invalid Token!"}
        refresh = "rt-" + secrets.token_hex(8)  # rotates: the old one is gone
        self.refresh_tokens[refresh] = user
        return 200, {
            "access_token": self._new_access(user),
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": "meeting:write",
        }

    def api(self, method: str, path: str, query: dict[str, str], user: str, body: Any) -> Any:
        """(status, JSON body or None, headers); subclasses route their API here."""
        return 404, {"code": 404, "message": "Not found"}, {}

    def unauthorized(self) -> Any:
        return 401, {"code": 124, "message": "Invalid access token."}, {}

    def consent(self, query: dict[str, str]) -> Any:
        """The authorize page once the user (``consenting_user``) has agreed: back to
        ``redirect_uri`` with a code and the ``state`` (RFC 6749 §4.1.2), or
        ``error=access_denied`` while ``consent_denied`` is set."""
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return 400, {"reason": "Invalid client_id or redirect_uri"}, {}
        if self.consent_denied:
            answer = {"error": "access_denied"}
        else:
            answer = {"code": self.authorization_code(self.consenting_user)}
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if "?" in query["redirect_uri"] else "?"
        return 302, None, {"Location": query["redirect_uri"] + separator + urlencode(answer)}

    def handle(self, method: str, raw_path: str, headers: Any, raw: bytes) -> Any:
        split = urlsplit(raw_path)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        with self.lock:
            if path == "/oauth/token" and method == "POST":
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                grant = {"grant_type": form.get("grant_type")}
                self.requests.append(RecordedRequest(method, path, body=grant))
                status, payload = self.token(headers, form)
                return status, payload, {}
            if path == "/oauth/authorize" and method == "GET":
                return self.consent(query)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return 400, {"code": 300, "message": "Request Body should be a valid JSON"}, {}
            self.requests.append(RecordedRequest(method, path, body=body))
            fault = self.faults.take(path)
            if fault is not None:
                return fault.status, fault.body, fault.headers
            user = self.user_for(headers)
            if user is None:
                return self.unauthorized()
            return self.api(method, path, query, user, body)


def _handler(emulator: OAuthEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        content_type = "application/json;charset=UTF-8"

        def _serve(self) -> None:
            raw = self.read_body()
            status, payload, headers = emulator.handle(self.command, self.path, self.headers, raw)
            self.send(status, b"" if payload is None else json.dumps(payload).encode(), headers)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


class ZoomEmulator(OAuthEmulator):
    """Zoom: meetings of the authorizing user, a daily creation limit, code 124 on 401."""

    def __init__(self, daily_create_limit: int = 100) -> None:
        super().__init__()
        self.daily_create_limit = daily_create_limit
        self.meetings: dict[int, dict[str, Any]] = {}
        self.created_today = 0
        self._next_id = 85746065432

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/v2/"

    def api(self, method: str, path: str, query: dict[str, str], user: str, body: Any) -> Any:
        if path == "/v2/users/me/meetings":
            if method == "POST":
                return self._create(user, body or {})
            if method == "GET":
                mine = [self._listed(m) for m in self.meetings.values() if m["_user"] == user]
                return 200, {"page_size": 300, "total_records": len(mine), "meetings": mine}, {}
        if path.startswith("/v2/meetings/"):
            try:
                meeting_id = int(path.rsplit("/", 1)[1])
            except ValueError:
                return 404, {"code": 3001, "message": "Meeting does not exist"}, {}
            meeting = self.meetings.get(meeting_id)
            if meeting is None or meeting["_user"] != user:
                return 404, {"code": 3001, "message": f"Meeting does not exist: {meeting_id}."}, {}
            if method == "GET":
                return 200, self._public(meeting), {}
            if method == "PATCH":
                meeting.update({k: v for k, v in (body or {}).items() if k in _EDITABLE})
                return 204, None, {}
            if method == "DELETE":
                del self.meetings[meeting_id]
                return 204, None, {}
        return 404, {"code": 404, "message": "Not found"}, {}

    def _create(self, user: str, body: dict[str, Any]) -> Any:
        if self.created_today >= self.daily_create_limit:
            return (
                429,
                {
                    "code": 429,
                    "message": "You have reached the maximum per-day limit for meeting "
                    "creation for this user.",
                },
                {"X-RateLimit-Type": "Daily-limit"},
            )
        self.created_today += 1
        self._next_id += 1
        meeting_id = self._next_id
        password = secrets.token_hex(3)
        meeting = {
            "_user": user,
            "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "id": meeting_id,
            "host_id": "KDcuGIm1QgePTO8WbOqwIQ",
            "host_email": user,
            "topic": body.get("topic", "Zoom Meeting"),
            "type": body.get("type", 2),
            "status": "waiting",
            "start_time": body.get("start_time"),
            "duration": body.get("duration", 60),
            "timezone": body.get("timezone", "UTC"),
            "agenda": body.get("agenda", ""),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "start_url": f"https://zoom.us/s/{meeting_id}?zak=emulated",
            "join_url": f"https://zoom.us/j/{meeting_id}?pwd={password}",
            "password": password,
            "settings": {"join_before_host": False},
        }
        self.meetings[meeting_id] = meeting
        return 201, self._public(meeting), {}

    @staticmethod
    def _public(meeting: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in meeting.items() if not k.startswith("_")}

    @staticmethod
    def _listed(meeting: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "uuid",
            "id",
            "host_id",
            "topic",
            "type",
            "start_time",
            "duration",
            "timezone",
            "agenda",
            "created_at",
            "join_url",
        )
        return {k: meeting[k] for k in keys}


_EDITABLE = ("topic", "start_time", "duration", "timezone", "agenda")
