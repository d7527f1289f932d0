"""Which IP addresses count as public: one rule for every server a caller or an end user
names and syncd then connects to (webhook receivers, CalDAV servers).

Shared by ``syncd`` and the adapters (which may not import ``syncd``), like
``retry_policy``. Private, loopback, link-local, multicast, reserved and unspecified
ranges are not public, and neither is an IPv6 address that embeds a non-public IPv4
address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo): those reach the embedded
address through a translator.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

__all__ = [
    "IPAddress",
    "Resolver",
    "all_public",
    "embedded_ipv4",
    "is_public_address",
    "parse_ip",
    "reachable_addresses",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Resolves a host name to its addresses; replaceable in tests.
Resolver = Callable[[str, int], list[str]]

#: NAT64 prefixes: the well-known one (RFC 6052) and the local-use one (RFC 8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (what a connection might reach)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def reachable_addresses(
    host: str, port: int, resolve: Resolver = resolve_host
) -> list[tuple[str, IPAddress | None]]:
    """What a connection to ``host`` might reach, as (text, parsed address) pairs: a
    literal is its own address; ``[]`` when the name does not resolve. An answer that is
    not an address parses as None, which no caller may count as public."""
    literal = parse_ip(host)
    if literal is not None:
        return [(host, literal)]
    try:
        texts = resolve(host, port)
    except (OSError, UnicodeError):
        return []
    return [(text, parse_ip(text)) for text in texts]


def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an address (an IPv4-mapped IPv6 address as its IPv4 one), or None."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


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


def all_public(
    addresses: list[tuple[str, IPAddress | None]],
    is_public: Callable[[IPAddress], bool] = is_public_address,
) -> bool:
    """Whether every one of ``reachable_addresses``' answers is a public address (and
    there is at least one)."""
    return bool(addresses) and all(
        address is not None and is_public(address) for _, address in addresses
    )
