"""Microsoft: AAD token errors and Graph responses → the shared adapter errors."""

from __future__ import annotations

import json
from typing import Any

from providers.base import (
    AlreadyExists,
    AuthRevoked,
    CursorExpired,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
)
from providers.retry import parse_retry_after

_REVOKED_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})
_REVOKED_AADSTS = ("AADSTS700082", "AADSTS50173")
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_CURSOR_GONE_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})


class BadRequest(ProviderError):
    """HTTP 400: Graph rejected a parameter (e.g. a malformed id or a token it dropped)."""


def token_error(result: dict[str, Any]) -> ProviderError:
    """What an msal error dict means for the profile: the one place AAD errors are read.

    Refused grants disconnect the profile; throttling and outages are retried; anything
    else (a misconfigured client, say) fails the run without disconnecting anyone.
    """
    error = result.get("error")
    code = str(error if isinstance(error, str) else "").lower()
    description = str(result.get("error_description") or "")
    codes = {f"AADSTS{c}" for c in result.get("error_codes") or [] if isinstance(c, int)}
    if code in _REVOKED_ERRORS or codes & set(_REVOKED_AADSTS):
        return AuthRevoked(f"Microsoft refused the grant ({code}: {description.split(':')[0]})")
    if any(description.startswith(prefix) for prefix in _REVOKED_AADSTS):
        return AuthRevoked(f"Microsoft refused the grant ({description.split(':')[0]})")
    if code in _TRANSIENT_ERRORS or not code:
        # No OAuth error code at all: a proxy page or a throttling body, not a verdict.
        return TransientError(f"Microsoft token endpoint failed temporarily ({code or 'no code'})")
    return ProviderError(f"Microsoft token endpoint refused the request ({code})")


def http_error(status: int, headers: Any, body: bytes | str | None) -> ProviderError:
    """Translate one failed Graph response into the shared adapter errors."""
    code = _graph_error_code(body)
    if code.lower() in _CURSOR_GONE_CODES or status == 410:
        return CursorExpired(f"Microsoft requires a full sync ({code or status})")
    if status in (429, 503):
        return RateLimited(
            f"Microsoft Graph throttled the request ({status})",
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )
    if status == 401:
        return AuthRevoked("Microsoft Graph rejected a freshly refreshed access token")
    if status == 403:
        return PermissionDenied(f"Microsoft Graph forbade the request ({code})")
    if status == 404:
        return NotFound(f"Microsoft Graph has no such calendar or event ({code})")
    if status == 400:
        return BadRequest(f"Microsoft Graph rejected the request ({code})")
    if status == 409:
        return AlreadyExists(f"Microsoft Graph has one already ({code})")
    if status >= 500:
        return TransientError(f"Microsoft Graph server error {status} ({code})")
    return ProviderError(f"unexpected Microsoft Graph response {status} ({code})")


def _graph_error_code(body: bytes | str | None) -> str:
    try:
        error = json.loads(body or b"{}").get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code") or "") if isinstance(error, dict) else ""
