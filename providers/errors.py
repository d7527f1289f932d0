"""The errors every calendar (and conferencing) adapter raises on purpose.

Typed so the engine can decide between "retry later", "resync from scratch" and "the
user must reauthorize" without knowing anything about the provider. ``providers.base``
re-exports them as part of the adapter contract; ``providers.retry`` decides on them.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "AuthRevoked",
    "CursorExpired",
    "InvalidRemoteData",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "Unsupported",
    "UntrustedHost",
]


class ProviderError(Exception):
    """Base class of every error an adapter raises on purpose."""


class AuthRevoked(ProviderError):
    """The provider refused the credentials (revoked grant, invalid_grant, 401 after refresh).

    Not retryable: the profile becomes ``disconnected`` until it is reauthorized.
    """


class RateLimited(ProviderError):
    """429/503 from the provider; ``retry_after`` is the wait it asked for, in seconds."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ProviderError):
    """5xx, timeouts, connection resets: retry with backoff, never disconnect."""


class CursorExpired(ProviderError):
    """The provider no longer knows the sync cursor (Google 410, CalDAV invalid sync-token)."""


class NotFound(ProviderError):
    """The calendar or event does not exist (any more) at the provider."""


class AlreadyExists(ProviderError):
    """The provider refuses to create what exists already (a calendar of the same name)."""


class PermissionDenied(ProviderError):
    """The credentials are valid but may not do this (read-only calendar, missing scope)."""


class UntrustedHost(PermissionDenied):
    """The provider pointed at a host the credentials may not be sent to (CalDAV
    discovery naming or redirecting to another domain, or to a private address); the
    message names the host. Nothing was sent there."""


class InvalidRemoteData(ProviderError):
    """A malformed payload from the provider: log it, skip the item, keep syncing."""


class Unsupported(ProviderError):
    """The server does not implement what the adapter needs (HTTP 501: not a CalDAV
    server, or not at this URL). Permanent: retrying cannot help, the URL must change."""
