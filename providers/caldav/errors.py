"""CalDAV: HTTP status → shared errors (the one place this mapping lives)."""

from __future__ import annotations

import requests

from providers.base import (
    AuthRevoked,
    CursorExpired,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unsupported,
)
from providers.retry import parse_retry_after


def is_sync_token_refusal(body: bytes) -> bool:
    """Whether an error body carries the ``DAV:valid-sync-token`` precondition."""
    return b"valid-sync-token" in body


def error_for_response(response: requests.Response) -> ProviderError | None:
    """The shared error an HTTP answer means, or ``None`` when it is a success."""
    status = response.status_code
    if status < 400:
        return None
    if status < 500 and is_sync_token_refusal(response.content):
        # RFC 6578 §3.2: the precondition comes with 403 (Radicale), 412 (Xandikos), …
        return CursorExpired(f"the server no longer knows this sync-token ({status})")
    if status == 401:
        return AuthRevoked("credentials refused")
    if status == 403:
        return PermissionDenied("the server refused this operation (403)")
    if status in (404, 410):
        return NotFound(f"no such resource ({status})")
    if status in (429, 503):
        return RateLimited(
            f"server busy ({status})", parse_retry_after(response.headers.get("Retry-After"))
        )
    if status == 501:
        method = response.request.method if response.request is not None else "the request"
        return Unsupported(f"the server does not implement {method} (501): not a CalDAV server")
    if status >= 500:
        return TransientError(f"server error ({status})")
    return ProviderError(f"unexpected HTTP {status} from the CalDAV server")
