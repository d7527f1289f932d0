"""Which URLs syncd will POST notifications to.

A webhook URL is chosen by the caller but requested by the server, so an unchecked one
would let any API client make syncd call into the operator's private network (SSRF).
The rule: https to a host whose every address is public. Hosts the operator lists in
``webhook_allowed_hosts`` (names, IP addresses or CIDR networks) may also use plain http
and private, loopback or link-local addresses, e.g. ``127.0.0.1`` for development.

URLs are checked when they are given (channels, event subscriptions) and again before
every delivery, because what a name resolves to can change in between.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from syncd.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Longest webhook URL accepted (Cronofy caps channel callback URLs lower; we are lenient).
MAX_URL_LENGTH = 2048

#: Resolves a host name to its addresses; replaceable in tests.
Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (what a connection might reach)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _parse_ip(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public_address(address: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified ranges."""
    return address.is_global and not address.is_multicast


def host_is_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether the operator allow-listed ``host`` by name, address or network."""
    host = host.lower().rstrip(".")
    address = _parse_ip(host)
    for entry in allowed_hosts:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if entry == host:
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue  # a host name entry
    return False


def validate_webhook_url(url: str, settings: Settings, resolve: Resolver = resolve_host) -> str:
    """Return ``url`` if syncd may deliver to it; raise ValueError saying why not."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("a URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("the URL must start with https://")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("the URL has no host")
    if host_is_allowed(host, settings.webhook_allowed_hosts):
        return url
    if scheme != "https":
        raise ValueError(
            f"the URL must use https (plain http is allowed only for hosts the operator "
            f"allow-lists in webhook_allowed_hosts; {host!r} is not one)"
        )
    for address in _addresses_of(host, port or 443, resolve):
        if not is_public_address(address):
            raise ValueError(
                f"the host {host!r} is a private, loopback or link-local address "
                f"({address}); only public addresses may receive webhooks unless the "
                "operator allow-lists the host in webhook_allowed_hosts"
            )
    return url


def _addresses_of(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    """The addresses a connection to ``host`` might reach (a literal is its own)."""
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    try:
        resolved = resolve(host, port)
    except (OSError, UnicodeError):
        raise ValueError(f"the host {host!r} does not resolve") from None
    addresses = [a for a in (_parse_ip(text) for text in resolved) if a is not None]
    if not addresses:
        raise ValueError(f"the host {host!r} does not resolve")
    return addresses


def url_origin(url: str) -> str:
    """``scheme://host:port`` of a URL, for logs: never the path or query, which may
    carry the receiver's secrets."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "(invalid url)"
