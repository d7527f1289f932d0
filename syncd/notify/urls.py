"""Which URLs syncd will POST notifications to.

A webhook URL is chosen by the caller but requested by the server, so an unchecked one
would let any API client make syncd call into the operator's private network (SSRF).
The rule: https to a host whose every address is public. Hosts the operator lists in
``webhook_allowed_hosts`` (names, IP addresses or CIDR networks) may also use plain http
and private, loopback or link-local addresses, e.g. ``127.0.0.1`` for development.

URLs are checked when they are given (channels, event subscriptions) and again before
every delivery, because what a name resolves to can change in between. A delivery
connects to the very address that was checked (:func:`webhook_target`), never to a
second DNS answer (rebinding); TLS still names and verifies the host name. IPv6
addresses that embed an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4,
Teredo) are judged by the embedded address too. Refusals never name a resolved
address: that would map the operator's internal DNS for the caller.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

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


#: NAT64 prefixes: the well-known one (RFC 6052) and the local-use one (RFC 8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped (``::ffff:a.b.c.d``),
    IPv4-compatible (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``), 6to4
    (``2002:AABB:CCDD::``) and Teredo (``2001:0::``, its server and client)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    value = int(address)
    if any(address in prefix for prefix in _NAT64):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if value >> 32 == 0 and value > 1:  # IPv4-compatible; not :: or ::1
        found.append(ipaddress.IPv4Address(value))
    return found


def is_public_address(address: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified ranges,
    and for IPv6 addresses embedding an IPv4 address that is not public."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(is_public_address(inner) for inner in embedded_ipv4(address))
    return True


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


@dataclass(frozen=True)
class WebhookTarget:
    """Where a delivery connects: ``url`` names the checked address in place of the host
    when the host is a name (so no second DNS lookup happens); ``headers`` and
    ``extensions`` (httpx's) keep the ``Host`` header, TLS SNI and certificate
    verification on the host name."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def validate_webhook_url(url: str, settings: Settings, resolve: Resolver | None = None) -> str:
    """Return ``url`` if syncd may deliver to it; raise ValueError saying why not."""
    webhook_target(url, settings, resolve)
    return url


def webhook_target(url: str, settings: Settings, resolve: Resolver | None = None) -> WebhookTarget:
    """Check ``url`` (ValueError saying why it is refused) and say where to connect."""
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
        return WebhookTarget(url)  # the operator's own host: connected to as named
    if scheme != "https" and not settings.webhook_allow_http:
        raise ValueError(
            f"the URL must use https (plain http is allowed only for hosts the operator "
            f"allow-lists in webhook_allowed_hosts, or to public hosts with "
            f"webhook_allow_http; {host!r} is not one)"
        )
    default_port = 443 if scheme == "https" else 80
    addresses = _addresses_of(host, port or default_port, resolve or resolve_host)
    if not all(is_public_address(address) for address in addresses):
        raise ValueError(
            f"the host {host!r} is or resolves to a private, loopback or link-local "
            "address; only public addresses may receive webhooks unless the operator "
            "allow-lists the host in webhook_allowed_hosts"
        )
    if _parse_ip(host) is not None:
        return WebhookTarget(url)
    return _pinned(parts, host, port, addresses[0])


def _pinned(parts: SplitResult, host: str, port: int | None, address: IPAddress) -> WebhookTarget:
    """The URL with ``address`` for its host, and the host name for Host and TLS."""
    scheme, netloc, path, query, fragment = parts
    userinfo = netloc.rpartition("@")[0]
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    pinned_netloc = (f"{userinfo}@" if userinfo else "") + literal + (f":{port}" if port else "")
    try:
        server_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"the host {host!r} is not a valid host name") from None
    return WebhookTarget(
        urlunsplit((scheme, pinned_netloc, path, query, fragment)),
        headers={"Host": server_name + (f":{port}" if port else "")},
        extensions={"sni_hostname": server_name},
    )


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
