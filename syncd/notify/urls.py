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
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

from public_addresses import (
    IPAddress,
    Resolver,
    all_public,
    is_public_address,
    reachable_addresses,
    resolve_host,
)
from public_addresses import parse_ip as _parse_ip
from syncd.config import Settings

__all__ = [
    "MAX_URL_LENGTH",
    "IPAddress",
    "Resolver",
    "WebhookTarget",
    "host_is_allowed",
    "host_is_public",
    "is_public_address",
    "resolve_host",
    "url_origin",
    "validate_webhook_url",
    "webhook_target",
]

#: Longest webhook URL accepted (Cronofy caps channel callback URLs lower; we are lenient).
MAX_URL_LENGTH = 2048


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
    addresses = _public_addresses_of(host, port or default_port, resolve or resolve_host)
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


def _public_addresses_of(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    """The addresses a connection to ``host`` might reach, all of them public, or
    ValueError (naming the host, never an address)."""
    reachable = reachable_addresses(host, port, resolve)
    if not reachable:
        raise ValueError(f"the host {host!r} does not resolve")
    if not all_public(reachable, is_public_address):
        raise ValueError(
            f"the host {host!r} is or resolves to a private, loopback or link-local "
            "address; only public addresses may receive webhooks unless the operator "
            "allow-lists the host in webhook_allowed_hosts"
        )
    return [address for _, address in reachable if address is not None]


def host_is_public(host: str, port: int, resolve: Resolver | None = None) -> bool:
    """Whether every address ``host`` is or resolves to is public (ValueError when it
    does not resolve): the rule for servers end users name, webhooks or CalDAV."""
    reachable = reachable_addresses(host, port, resolve or resolve_host)
    if not reachable:
        raise ValueError(f"the host {host!r} does not resolve")
    return all_public(reachable, is_public_address)


def url_origin(url: str) -> str:
    """``scheme://host:port`` of a URL, for logs: never the path or query, which may
    carry the receiver's secrets."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "(invalid url)"
