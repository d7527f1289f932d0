"""Where a CalDAV account's password may be sent.

Discovery follows what the server says (a principal, a calendar home, a calendar may sit
on any host) and servers redirect; sending Basic credentials wherever that leads would
hand the password to any host a server, or whoever controls its answers, names. So every
request is checked first:

- the origin the user configured (scheme, host, port) is always allowed;
- another host only over https (or the configured scheme) and only in the same
  registrable domain as the configured host, by the Public Suffix List bundled with
  ``publicsuffixlist`` (no live fetch): iCloud's ``caldav.icloud.com`` hands over to
  ``p42-caldav.icloud.com``, both ``icloud.com``; ``a.github.io`` and ``b.github.io``
  are different domains; an IP address or a bare name like ``localhost`` has no
  registrable domain, so only its own origin;
- such a host must not be or resolve to a loopback, private, link-local or otherwise
  non-public address, unless the configured host itself was one (a LAN server).

Anything else raises :class:`~providers.errors.UntrustedHost` naming the host, before a
byte is sent. Redirects are followed by the adapter itself, each hop checked the same.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from providers.errors import UntrustedHost
from public_addresses import (
    Resolver,
    all_public,
    is_public_address,
    parse_ip,
    reachable_addresses,
    resolve_host,
)

__all__ = ["CredentialScope", "Resolver", "registrable_domain"]

_PSL = PublicSuffixList()
_DEFAULT_PORTS = {"http": 80, "https": 443}


def registrable_domain(host: str) -> str | None:
    """``p42-caldav.icloud.com`` → ``icloud.com``; ``None`` for IP addresses, bare names
    and public suffixes themselves."""
    host = host.lower().rstrip(".")
    if not host or parse_ip(host) is not None:
        return None
    domain: str | None = _PSL.privatesuffix(host)
    return domain


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    return scheme, host, parts.port or _DEFAULT_PORTS.get(scheme, 0)


class CredentialScope:
    """Decides, per URL, whether the configured credentials may go there."""

    def __init__(
        self, configured_url: str, resolve: Resolver | None = None, *, public_only: bool = False
    ) -> None:
        self.origin = _origin(configured_url)
        self.domain = registrable_domain(self.origin[1])
        self._resolve = resolve or resolve_host
        self._allowed: set[tuple[str, str, int]] = {self.origin}
        #: A server an end user named may never lead to a private one, whatever the
        #: configured name resolves to (``providers.caldav.pinning`` enforces it).
        self._configured_private: bool | None = False if public_only else None

    def check(self, url: str) -> None:
        """Return if credentials may be sent to ``url``; raise UntrustedHost otherwise."""
        origin = _origin(url)
        if origin in self._allowed:
            return
        scheme, host, port = origin
        if scheme not in ("https", self.origin[0]):
            raise UntrustedHost(
                f"refusing to send the CalDAV credentials to {host!r} over {scheme or 'no'} "
                "scheme (only https, or the configured URL's scheme)"
            )
        if host != self.origin[1] and (
            self.domain is None or registrable_domain(host) != self.domain
        ):
            raise UntrustedHost(
                f"refusing to send the CalDAV credentials to {host!r}: it is not the "
                f"configured host {self.origin[1]!r} nor in its registrable domain"
            )
        if host != self.origin[1] and not self._configured_is_private():
            self._require_public(host, port)
        self._allowed.add(origin)

    def _configured_is_private(self) -> bool:
        if self._configured_private is None:
            _scheme, host, port = self.origin
            self._configured_private = any(
                address is not None and not is_public_address(address)
                for _, address in reachable_addresses(host, port, self._resolve)
            )
        return self._configured_private

    def _require_public(self, host: str, port: int) -> None:
        addresses = reachable_addresses(host, port, self._resolve)
        if not addresses:
            raise UntrustedHost(
                f"refusing to send the CalDAV credentials to {host!r}: it does not resolve"
            )
        if not all_public(addresses):
            raise UntrustedHost(
                f"refusing to send the CalDAV credentials to {host!r}: it is or resolves to "
                "a loopback, private or link-local address, and the configured URL is not one"
            )
