"""A tiny fault-injecting HTTP proxy, for servers that have no fault injection of their own.

Radicale is a real CalDAV server, so it cannot be told to misbehave. Put this proxy in
front of it and point the adapter at the proxy: every request is forwarded unchanged
(method, path, headers, body) and the answer relayed back, except when a fault is queued:

* ``Fault.http_status(status, retry_after=...)``: answer ``status`` without forwarding
  (429 and 503 with ``Retry-After`` when given, 500, ...);
* ``Fault.delay(seconds)``: forward, but only answer after ``seconds`` (client timeouts);
* ``Fault.drop_connection()``: close the socket without a byte of response (a reset);
* ``Fault.malformed_body()``: forward, then relay a truncated body with the real status.

Faults are consumed one per request, in order, like the Google and Graph emulators'.
Independently, :meth:`FaultyProxy.corrupt_items` rewrites the ``calendar-data`` of every
multistatus ``response`` whose href contains a given text, until :meth:`clear_faults`:
one malformed calendar object inside an otherwise healthy answer.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from lxml import etree

from tests.emulators.faults import Fault, FaultQueue, RecordedRequest
from tests.emulators.serving import BackgroundServer, QuietHandler, QuietServer

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
#: What a corrupted item's calendar-data becomes: iCalendar-shaped, unusable.
MALFORMED_CALENDAR_DATA = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:corrupted\r\n"
    "DTSTART:not-a-date\r\nDTEND:neither\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
#: Headers never copied across: hop-by-hop ones, those the proxy sets itself, and
#: Accept-Encoding (answers must arrive uncompressed for items to be rewritten).
_NOT_RELAYED = frozenset(
    {
        "accept-encoding",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)


class FaultyProxy(BackgroundServer):
    """Forwards 127.0.0.1 HTTP to ``upstream`` (``http://host:port``), misbehaving on demand."""

    thread_name = "faulty-proxy"

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the proxy forwards to plain http only, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._faults = FaultQueue()
        self._corrupted: set[str] = set()
        self._server = QuietServer((host, port), _make_handler(self))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- faults ------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Misbehave on the next ``times`` requests."""
        self._faults.add(fault, times)

    def corrupt_items(self, href_contains: str) -> None:
        """Serve unusable calendar-data for every item whose href contains this text."""
        with self._lock:
            self._corrupted.add(href_contains)

    def clear_faults(self) -> None:
        """The outage is over: forget queued faults and stop corrupting items."""
        self._faults.clear()
        with self._lock:
            self._corrupted.clear()

    def _next_fault(self) -> Fault | None:
        return self._faults.take("")

    # -- forwarding --------------------------------------------------------

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send one request upstream; returns (status, headers to relay, body)."""
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            outgoing = {name: value for name, value in headers if name.lower() not in _NOT_RELAYED}
            outgoing["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            outgoing["Content-Length"] = str(len(body))
            connection.request(method, path, body=body, headers=outgoing)
            response = connection.getresponse()
            content = response.read()
            relayed = [(n, v) for n, v in response.getheaders() if n.lower() not in _NOT_RELAYED]
            return response.status, relayed, content
        finally:
            connection.close()

    def rewrite(self, status: int, body: bytes) -> bytes:
        """Corrupt the calendar-data of matching items in a multistatus answer."""
        with self._lock:
            patterns = set(self._corrupted)
        if not patterns or status != 207:
            return body
        try:
            root = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return body
        changed = False
        for response in root.iterfind(f"{{{DAV}}}response"):
            href = response.findtext(f"{{{DAV}}}href") or ""
            if not any(pattern in href for pattern in patterns):
                continue
            for data in response.iter(f"{{{CALDAV}}}calendar-data"):
                data.text = MALFORMED_CALENDAR_DATA
                changed = True
        if not changed:
            return body
        return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _make_handler(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = "faulty-proxy"
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            body = self.read_body()
            with proxy._lock:
                proxy.requests.append(RecordedRequest(self.command, self.path))
            fault = proxy._next_fault()
            if fault is not None and fault.kind == "drop":
                self.drop()
                return
            if fault is not None and fault.kind == "status":
                extra = [("Retry-After", fault.retry_after)] if fault.retry_after else []
                text = f"injected {fault.status}\n".encode()
                self._send(fault.status, [("Content-Type", "text/plain"), *extra], text)
                return
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
            try:
                status, headers, content = proxy.forward(
                    self.command, self.path, list(self.headers.items()), body
                )
            except OSError:
                self._send(502, [("Content-Type", "text/plain")], b"upstream unreachable\n")
                return
            if fault is not None and fault.kind == "malformed_body":
                content = content[: len(content) // 2]
            else:
                content = proxy.rewrite(status, content)
            self._send(status, headers, content)

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
        do_OPTIONS = do_PROPFIND = do_PROPPATCH = do_REPORT = do_MKCOL = do_MKCALENDAR = _serve
        do_MOVE = do_COPY = do_LOCK = do_UNLOCK = _serve

    return Handler
