"""The HTTP plumbing the emulators share: servers, lifecycle, route tables, tokens.

* :class:`QuietServer` / :class:`TLSServer`: threading servers that stay silent when a
  client hangs up early (fault tests time out on purpose);
* :class:`BackgroundServer`: start/stop in a background thread, ``with`` support, port;
* :class:`Router`: a route table, (method, path pattern) → handler;
* :class:`AccessTokens`: bearer tokens issued to users, with an expiry;
* :class:`RestEmulator`: what the Google and Graph emulators have in common: the fault
  queue and request log, and one request pipeline (open routes, the API prefix, bearer
  authentication, the JSON body, the API route table) whose error answers each
  emulator writes in its provider's shape;
* ``encode_token`` / ``decode_token``: deterministic opaque page and sync tokens.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, unquote, urlsplit

from tests.emulators.faults import Fault, FaultQueue, RecordedRequest, requests_matching
from tests.emulators.push import Delivery, NotificationSender

#: (status, JSON body or None, extra headers): what a route handler answers.
Answer = tuple[int, Any, dict[str, str]]


def encode_token(payload: dict[str, Any]) -> str:
    """An opaque, deterministic token carrying ``payload`` (so cassettes replay exactly)."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any] | None:
    """The payload of an :func:`encode_token` token; None for anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


# ---------------------------------------------------------------------------
# Servers and their lifecycle
# ---------------------------------------------------------------------------


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print tracebacks when a client hangs up early.

    Clients that time out on a delayed response (on purpose, in fault tests) close the
    socket before the emulator answers; that is expected, not an error.
    """

    daemon_threads = True
    quiet_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionError,)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], self.quiet_errors):
            return
        super().handle_error(request, client_address)


class TLSServer(QuietServer):
    """A :class:`QuietServer` over HTTPS; the TLS handshake runs in the request's thread."""

    quiet_errors = (ConnectionError, ssl.SSLError)

    def __init__(self, address: Any, handler: Any, context: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self._context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            wrapped = self._context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(wrapped, client_address)


class BackgroundServer:
    """An HTTP server answering from a background thread: ``start``/``stop`` or ``with``."""

    thread_name: ClassVar[str] = "emulator"
    _server: ThreadingHTTPServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stopped()

    def _stopped(self) -> None:
        """Release what the emulator holds besides its server (push threads, files)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler without an access log, with the small helpers every emulator uses."""

    content_type: ClassVar[str] = "application/json; charset=UTF-8"
    #: Headers and body go out in separate writes: with Nagle's algorithm on, the body of
    #: a small answer waits for the client's delayed ACK of the headers (~40 ms on Linux),
    #: a stall no real provider's front end has. TCP_NODELAY, as production servers set.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log."""

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def drop(self) -> None:
        """Close the socket without a byte of response (a connection reset)."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """``status`` with a JSON ``body`` (none when empty) and ``headers`` after the length."""
        self.send_response(status)
        if body:
            self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


# ---------------------------------------------------------------------------
# Route tables
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """``method`` (``*``: any) and path segments (``{name}`` captures one, a final ``**``
    the rest, none or more) → ``handler(request, **captured)``."""

    method: str
    segments: tuple[str, ...]
    handler: Callable[..., Answer]
    #: Whether the handler runs under the emulator's lock (the default).
    locked: bool = True

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        if self.method not in ("*", method):
            return None
        pattern = self.segments
        if pattern and pattern[-1] == "**":
            pattern = pattern[:-1]
            if len(parts) < len(pattern):
                return None
            parts = parts[: len(pattern)]
        if len(parts) != len(pattern):
            return None
        captured: dict[str, str] = {}
        for expected, part in zip(pattern, parts, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                captured[expected[1:-1]] = part
            elif expected != part:
                return None
        return captured


def route(
    method: str, pattern: str, handler: Callable[..., Answer], *, locked: bool = True
) -> Route:
    """A :class:`Route` from a pattern such as ``"me/calendars/{calendar}/events"``."""
    return Route(method, tuple(pattern.split("/")), handler, locked)


class Router:
    """The first route that matches a request wins."""

    def __init__(self, *routes: Route) -> None:
        self.routes = routes

    def find(self, method: str, parts: list[str]) -> tuple[Route, dict[str, str]] | None:
        for candidate in self.routes:
            captured = candidate.match(method, parts)
            if captured is not None:
                return candidate, captured
        return None


@dataclass(frozen=True)
class Request:
    """One request as a route handler sees it (``user`` and ``payload`` for API routes)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    user: str = ""
    payload: Any = None


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------


class AccessTokens:
    """Bearer tokens issued to users; each stops working at its expiry or when cleared."""

    def __init__(self, prefix: str, lifetime_seconds: float, entropy: int = 16) -> None:
        self.prefix = prefix
        self.lifetime_seconds = lifetime_seconds
        self.entropy = entropy
        self._lock = threading.Lock()
        self._issued: dict[str, tuple[str, float]] = {}  # token -> (user, expires at)

    def issue(self, user: str) -> tuple[str, float]:
        """A new token for ``user`` and when it expires (epoch seconds)."""
        token = self.prefix + secrets.token_urlsafe(self.entropy)
        expires_at = time.time() + self.lifetime_seconds
        with self._lock:
            self._issued[token] = (user, expires_at)
        return token, expires_at

    def user_for(self, authorization: str | None) -> str | None:
        """Whose ``Authorization: Bearer …`` this is; None when missing, unknown or expired."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self._lock:
            found = self._issued.get(authorization[len("Bearer ") :])
        if found is None or found[1] < time.time():
            return None
        return found[0]

    def clear(self) -> None:
        """Every token issued so far stops working (as after an hour)."""
        with self._lock:
            self._issued.clear()

    def forget_user(self, user: str) -> None:
        """The user's tokens stop working (their grant was revoked)."""
        with self._lock:
            for token, (owner, _) in list(self._issued.items()):
                if owner == user:
                    del self._issued[token]


# ---------------------------------------------------------------------------
# The REST emulators' common part
# ---------------------------------------------------------------------------


class RestEmulator(BackgroundServer):
    """Fault queue, request log, access tokens, push sender and request pipeline of an
    OAuth-protected JSON API.

    A request goes: the fault queue (the handler answers a fault itself); the open routes
    (token endpoint, discovery: no bearer token); 404 outside ``api_prefix``; 401 without
    a valid bearer token; 400 for a body that is not JSON; the API routes; 404.
    Subclasses set ``open_routes`` and ``api_routes`` and write the error answers.
    """

    #: Path prefix of the API proper, e.g. ``/calendar/v3``.
    api_prefix: ClassVar[str]
    #: What a ``malformed_json`` fault answers: the start of a plausible listing.
    malformed_json: ClassVar[bytes]
    #: Whether the request log keeps each request's headers.
    record_headers: ClassVar[bool] = False
    #: How the answers present themselves: Server header, HTTP version, JSON media type.
    server_header: ClassVar[str] = "emulator"
    http_version: ClassVar[str] = "HTTP/1.0"
    content_type: ClassVar[str] = QuietHandler.content_type

    open_routes: Router
    api_routes: Router

    def __init__(self, access_tokens: AccessTokens) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._faults = FaultQueue()
        self._access_tokens = access_tokens
        self._push = NotificationSender(self.thread_name)

    def _stopped(self) -> None:
        self._push.close()

    # -- tokens and push notifications ------------------------------------

    def expire_access_tokens(self) -> None:
        """Every issued access token stops working (as after an hour)."""
        self._access_tokens.clear()

    @property
    def push_deliveries(self) -> list[Delivery]:
        """Every notification sent so far, with the receiver's status code."""
        return list(self._push.deliveries)

    def wait_for_notifications(self, timeout: float = 10.0) -> bool:
        """Block until every queued notification has been delivered."""
        return self._push.wait_idle(timeout)

    def _user_for(self, authorization: str | None) -> str | None:
        return self._access_tokens.user_for(authorization)

    # -- faults and request log -------------------------------------------

    def inject(self, fault: Fault, times: int = 1, path_prefix: str | None = None) -> None:
        """Misbehave on the next ``times`` requests whose path starts with ``path_prefix``
        (by default: every request to the API)."""
        self._faults.add(fault, times, self.api_prefix if path_prefix is None else path_prefix)

    def clear_faults(self) -> None:
        """The outage is over: forget every fault still queued."""
        self._faults.clear()

    def requests_to(self, path_suffix: str, method: str = "GET") -> list[RecordedRequest]:
        with self._lock:
            return requests_matching(self.requests, method, suffix=path_suffix)

    def _record(self, method: str, path: str, query: dict[str, list[str]], headers: Any) -> None:
        recorded_headers = dict(headers.items()) if self.record_headers else {}
        with self._lock:
            self.requests.append(RecordedRequest(method, unquote(path), query, recorded_headers))

    # -- the answers a subclass writes in its provider's shape ------------

    def fault_error(self, fault: Fault) -> Any:
        """The JSON error body of an injected status fault."""
        raise NotImplementedError

    def outside_api(self) -> Answer:
        raise NotImplementedError

    def unauthenticated(self) -> Answer:
        raise NotImplementedError

    def unreadable_body(self) -> Answer:
        raise NotImplementedError

    def no_route(self) -> Answer:
        raise NotImplementedError

    def segments(self, path: str) -> list[str]:
        """The (unquoted) path segments the route tables match."""
        return [unquote(part) for part in path[1:].split("/")]

    # -- the pipeline -------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Answer:
        """Route one request; returns (status, JSON body or None, extra headers)."""
        parts = self.segments(path)
        request = Request(method, path, query, headers, body)
        found = self.open_routes.find(method, parts)
        if found is not None:
            return self._run(found, request)
        if not path.startswith(self.api_prefix + "/"):
            return self.outside_api()
        user = self._user_for(headers.get("Authorization"))
        if user is None:
            return self.unauthenticated()
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return self.unreadable_body()
        found = self.api_routes.find(method, parts)
        if found is None:
            return self.no_route()
        return self._run(found, Request(method, path, query, headers, body, user, payload))

    def _run(self, found: tuple[Route, dict[str, str]], request: Request) -> Answer:
        chosen, captured = found
        if not chosen.locked:
            return chosen.handler(request, **captured)
        with self._lock:
            return chosen.handler(request, **captured)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class serving this emulator (faults first, then ``handle``)."""
        return _rest_handler(self)


def _rest_handler(emulator: RestEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = emulator.server_header
        protocol_version = emulator.http_version
        content_type = emulator.content_type

        def _serve(self) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query, keep_blank_values=True)
            body = self.read_body()
            emulator._record(self.command, split.path, query, self.headers)
            fault = emulator._faults.take(split.path)
            if fault is not None and self._answer_fault(fault):
                return
            status, payload, headers = emulator.handle(
                self.command, split.path, query, self.headers, body
            )
            self.send(status, b"" if payload is None else json.dumps(payload).encode(), headers)

        def _answer_fault(self, fault: Fault) -> bool:
            """Perform ``fault``; True when that answered the request."""
            if fault.kind == "drop":
                self.drop()
                return True
            if fault.kind == "delay":
                time.sleep(fault.seconds)
                return False
            if fault.kind == "malformed_json":
                self.send(200, emulator.malformed_json)
                return True
            if fault.kind == "status":
                error = emulator.fault_error(fault) if fault.body is None else fault.body
                self.send(fault.status, json.dumps(error).encode(), fault.answer_headers())
                return True
            return False

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler
