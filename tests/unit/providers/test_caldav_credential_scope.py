"""CalDAV discovery sends the password only to the configured origin or its registrable
domain, never to private addresses it was not configured with, and follows no redirect
elsewhere; everything else is refused naming the host, before a byte is sent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from providers.caldav import CalDAVProvider
from providers.caldav.scope import CredentialScope, registrable_domain
from providers.errors import UntrustedHost

PUBLIC = "17.253.144.10"


def resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, _port: int) -> list[str]:
        return table.get(host, [PUBLIC])

    return resolve


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("caldav.icloud.com", "icloud.com"),
        ("p42-caldav.icloud.com", "icloud.com"),
        ("dav.example.co.uk", "example.co.uk"),
        ("alice.github.io", "alice.github.io"),
        ("localhost", None),
        ("127.0.0.1", None),
        ("::1", None),
    ],
)
def test_registrable_domain_from_the_bundled_public_suffix_list(
    host: str, domain: str | None
) -> None:
    assert registrable_domain(host) == domain


def test_icloud_hands_over_to_a_partition_host_in_its_domain() -> None:
    scope = CredentialScope("https://caldav.icloud.com/", resolver({}))
    scope.check("https://caldav.icloud.com/123/principal/")
    scope.check("https://p42-caldav.icloud.com:443/123/calendars/")


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/principal/",
        "https://icloud.com.attacker.example/",
        "https://caldav.icloud.com.evil/",
        "http://p42-caldav.icloud.com/123/",  # downgrade to plain http
        "https://17.253.144.10/",  # an address: no registrable domain
    ],
)
def test_other_hosts_are_refused_naming_the_host(url: str) -> None:
    scope = CredentialScope("https://caldav.icloud.com/", resolver({}))
    with pytest.raises(UntrustedHost) as refused:
        scope.check(url)
    assert (url.split("/")[2].split(":")[0].strip("[]")) in str(refused.value)


def test_public_suffix_neighbours_are_different_domains() -> None:
    scope = CredentialScope("https://alice.github.io/dav/", resolver({}))
    with pytest.raises(UntrustedHost, match="mallory.github.io"):
        scope.check("https://mallory.github.io/dav/")


def test_a_same_domain_host_on_a_private_address_is_refused() -> None:
    scope = CredentialScope(
        "https://dav.example.com/", resolver({"internal.example.com": ["10.0.0.5"]})
    )
    with pytest.raises(UntrustedHost, match=r"internal\.example\.com.*private"):
        scope.check("https://internal.example.com/principal/")
    with pytest.raises(UntrustedHost, match="metadata.example.com"):
        CredentialScope(
            "https://dav.example.com/", resolver({"metadata.example.com": ["169.254.169.254"]})
        ).check("https://metadata.example.com/")


def test_a_lan_server_may_hand_over_within_its_domain() -> None:
    table = {"dav.home.example.com": ["192.168.1.2"], "cal.home.example.com": ["192.168.1.3"]}
    scope = CredentialScope("http://dav.home.example.com:5232/", resolver(table))
    scope.check("http://cal.home.example.com:5232/alice/")


def test_the_configured_origin_is_always_allowed() -> None:
    scope = CredentialScope("http://127.0.0.1:5232/", resolver({}))
    scope.check("http://127.0.0.1:5232/alice/calendar/")
    with pytest.raises(UntrustedHost, match="localhost"):
        scope.check("http://localhost:5232/alice/")


class DavServer:
    """A tiny DAV server on 127.0.0.1 that records what it was sent."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_PROPFIND(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner.requests.append(
                    {"path": self.path, "authorization": self.headers.get("Authorization")}
                )
                answer(self)

            do_GET = do_PROPFIND

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _multistatus(handler: BaseHTTPRequestHandler, principal: str) -> None:
    body = (
        '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response>'
        f"<D:href>{handler.path}</D:href><D:propstat><D:prop><D:current-user-principal>"
        f"<D:href>{principal}</D:href></D:current-user-principal></D:prop>"
        "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"
    ).encode()
    handler.send_response(207)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _redirect(handler: BaseHTTPRequestHandler, location: str) -> None:
    handler.send_response(301)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture
def elsewhere() -> Iterator[DavServer]:
    """The "other host": reached as ``localhost`` while the account is on 127.0.0.1."""
    server = DavServer(lambda handler: _multistatus(handler, "/principal/"))
    yield server
    server.close()


def _provider(url: str) -> CalDAVProvider:
    return CalDAVProvider({"url": url, "username": "alice", "password": "s3cret"}, timeout=5)


def test_a_principal_on_another_host_gets_no_credentials(elsewhere: DavServer) -> None:
    foreign = f"http://localhost:{elsewhere.port}/principal/"
    home = DavServer(lambda handler: _multistatus(handler, foreign))
    try:
        provider = _provider(f"http://127.0.0.1:{home.port}/")
        with pytest.raises(UntrustedHost, match="'localhost'"):
            provider.list_calendars()
        provider.close()
    finally:
        home.close()
    assert home.requests and home.requests[0]["authorization"]  # the configured origin
    assert elsewhere.requests == []  # nothing sent, the password least of all


def test_a_redirect_to_another_host_is_not_followed(elsewhere: DavServer) -> None:
    home = DavServer(lambda handler: _redirect(handler, f"http://localhost:{elsewhere.port}/dav/"))
    try:
        provider = _provider(f"http://127.0.0.1:{home.port}/")
        with pytest.raises(UntrustedHost, match="'localhost'"):
            provider.list_calendars()
        provider.close()
    finally:
        home.close()
    assert elsewhere.requests == []


def test_a_redirect_within_the_origin_is_followed_with_credentials() -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/.well-known/caldav":
            _redirect(handler, "/dav/")
        else:
            _multistatus(handler, "/dav/alice/")

    home = DavServer(answer)
    try:
        provider = _provider(f"http://127.0.0.1:{home.port}/.well-known/caldav")
        provider._propfind(provider.url, ["D:current-user-principal"], "0")
        provider.close()
    finally:
        home.close()
    assert [r["path"] for r in home.requests] == ["/.well-known/caldav", "/dav/"]
    assert all(r["authorization"] for r in home.requests)
