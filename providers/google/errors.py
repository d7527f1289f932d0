"""Google: what the client stack raised → the shared adapter errors (the one place)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable

import httplib2
from google.auth.exceptions import RefreshError
from google.auth.exceptions import TransportError as GoogleTransportError
from googleapiclient.errors import HttpError

from providers.base import (
    AuthRevoked,
    CursorExpired,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
)
from providers.retry import parse_retry_after

_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


class BadRequest(ProviderError):
    """HTTP 400: Google rejected a parameter (e.g. a page token it no longer accepts)."""


#: Statuses whose meaning does not depend on Google's reasons beyond the message.
_BY_STATUS: dict[int, Callable[[str], ProviderError]] = {
    400: lambda reasons: BadRequest(f"Google rejected the request ({reasons})"),
    401: lambda _: AuthRevoked("Google rejected the access token after refresh"),
    403: lambda reasons: PermissionDenied(f"Google forbade the request ({reasons})"),
    404: lambda _: NotFound("Google has no such calendar or event"),
}


def provider_error(exc: BaseException) -> BaseException:
    """Translate whatever the Google client stack raised into the shared adapter errors.

    The one place HTTP statuses and transport failures acquire a meaning; returns the
    exception unchanged when it is not something this adapter knows how to classify.
    """
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, RefreshError):
        if "invalid_grant" in str(exc) or not getattr(exc, "retryable", False):
            return AuthRevoked("Google refused the refresh token")
        return TransientError("Google token endpoint failed temporarily")
    if isinstance(exc, GoogleTransportError):
        return TransientError(f"token refresh transport failure: {type(exc).__name__}")
    if isinstance(exc, HttpError):
        return _http_error(exc)
    if isinstance(exc, OSError | http.client.HTTPException | httplib2.HttpLib2Error):
        return TransientError(f"network failure talking to Google: {type(exc).__name__}")
    return exc


def _http_error(exc: HttpError) -> ProviderError:
    status = int(exc.resp.status)
    reasons = _error_reasons(exc.content)
    if status in (429, 503) or (status == 403 and reasons & _RATE_LIMIT_REASONS):
        return RateLimited(
            f"Google rate limited ({status})",
            retry_after=parse_retry_after(exc.resp.get("retry-after")),
        )
    if status == 410:
        if "deleted" in reasons:
            return NotFound("Google says the event was already deleted")
        return CursorExpired("Google requires a full sync")
    if status in _BY_STATUS:
        return _BY_STATUS[status](", ".join(sorted(reasons)))
    if status >= 500:
        return TransientError(f"Google server error {status}")
    return ProviderError(f"unexpected Google response {status}")


def _error_reasons(content: bytes | str | None) -> set[str]:
    try:
        errors = json.loads(content or b"{}").get("error", {}).get("errors", [])
        return {str(item.get("reason")) for item in errors if isinstance(item, dict)}
    except (ValueError, AttributeError):
        return set()
