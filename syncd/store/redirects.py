"""Which redirect URIs an application may register for /oauth/authorize (RFC 6749 §3.1.2).

Absolute, without a fragment, and either https or http to this machine (a developer's
app on 127.0.0.1): an authorization code must not cross a network in clear text.
Requests are later compared with the registered URIs exactly, character for character.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from syncd.errors import UserError

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Longest URI accepted (a browser's practical limit is far above; this bounds storage).
MAX_URI_LENGTH = 2000


def validated_redirect_uri(uri: str) -> str:
    """``uri`` if it may be registered, else a :class:`UserError` saying why."""
    uri = uri.strip()
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise _refused(uri, "it is not a valid URL") from None
    if len(uri) > MAX_URI_LENGTH:
        raise _refused(uri[:80] + "…", f"it is longer than {MAX_URI_LENGTH} characters")
    if parts.scheme not in ("https", "http") or not host:
        raise _refused(uri, "it must be an absolute https:// URL")
    if parts.fragment or "#" in uri:
        raise _refused(uri, "it must not have a #fragment (RFC 6749 §3.1.2)")
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise _refused(uri, "http is only accepted to 127.0.0.1 or localhost; use https")
    if parts.username or parts.password:
        raise _refused(uri, "it must not carry a user name or password")
    return uri


def _refused(uri: str, why: str) -> UserError:
    return UserError(f"redirect URI {uri!r} refused: {why}", code="invalid_redirect_uri")
