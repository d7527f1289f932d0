"""Connections that reach only public addresses, judged at the moment of connecting.

A CalDAV URL typed by an end user was checked when it was given (every address public),
but a name can resolve differently a second later (DNS rebinding): checked against a
public answer, then connected to ``127.0.0.1``. So for such a profile the check moves
into the connection itself: each new socket resolves the host once, refuses unless every
address is public (:func:`public_addresses.is_public_address`), and connects to one of
exactly those addresses. There is no second lookup to rebind; TLS still sends and
verifies the host name (urllib3 wraps the socket with the name, not the address).

A refusal is :class:`~providers.errors.UntrustedHost`, raised before a byte is sent; its
message names the host, never the addresses it resolved to. Proxies from the environment
are not used for such a profile: a proxy would do its own lookup.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from providers.errors import UntrustedHost
from public_addresses import (
    IPAddress,
    Resolver,
    all_public,
    is_public_address,
    reachable_addresses,
    resolve_host,
)

__all__ = [
    "PUBLIC_ADDRESSES_ONLY",
    "PublicAddressesOnly",
    "checked_addresses",
    "hold_to_public_addresses",
]

#: Credentials flag for a server an end user named (set by syncd's connect path).
PUBLIC_ADDRESSES_ONLY = "public_addresses_only"


def checked_addresses(
    host: str,
    port: int,
    resolve: Resolver = resolve_host,
    is_public: Callable[[IPAddress], bool] = is_public_address,
) -> list[str]:
    """The addresses to connect to for ``host``: all of them public, or UntrustedHost."""
    addresses = reachable_addresses(host, port, resolve)
    if not addresses:
        raise UntrustedHost(f"refusing to connect to {host!r}: it does not resolve")
    if not all_public(addresses, is_public):
        raise UntrustedHost(
            f"refusing to connect to {host!r}: it is or resolves to a loopback, private or "
            "link-local address, and only public servers may be named here"
        )
    return [text for text, _ in addresses]


def _guarded(base: type[HTTPConnection], check: Callable[[str, int], list[str]]) -> type[Any]:
    """``base`` with a ``_new_conn`` that connects only to checked addresses."""

    def _new_conn(self: HTTPConnection) -> socket.socket:
        host = self._dns_host
        last_error: OSError | None = None
        for address in check(host, self.port):
            try:
                return connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out (connect timeout={self.timeout})"
                ) from error
            except OSError as error:
                last_error = error
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")

    return type(f"PublicOnly{base.__name__}", (base,), {"_new_conn": _new_conn})


class PublicAddressesOnly(HTTPAdapter):
    """A requests transport adapter whose every connection goes to a checked public
    address (mount it for ``http://`` and ``https://``)."""

    def __init__(
        self,
        resolve: Resolver = resolve_host,
        is_public: Callable[[IPAddress], bool] = is_public_address,
    ) -> None:
        def check(host: str, port: int) -> list[str]:
            return checked_addresses(host, port, resolve, is_public)

        self._pools = {
            "http": type(
                "PublicOnlyHTTPConnectionPool",
                (HTTPConnectionPool,),
                {"ConnectionCls": _guarded(HTTPConnection, check)},
            ),
            "https": type(
                "PublicOnlyHTTPSConnectionPool",
                (HTTPSConnectionPool,),
                {"ConnectionCls": _guarded(HTTPSConnection, check)},
            ),
        }
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def hold_to_public_addresses(session: requests.Session, resolve: Resolver | None = None) -> None:
    """Make every connection ``session`` opens go to a checked public address."""
    session.trust_env = False
    guard = PublicAddressesOnly(resolve or resolve_host)
    session.mount("http://", guard)
    session.mount("https://", guard)
