"""CSRF protection for every form of the hosted pages: one token, one dependency.

Each browser gets a random value in an HttpOnly cookie; a form carries that value signed
with the store's key ring (itsdangerous, salt ``syncd-web-csrf``) in its ``csrf_token``
field (htmx requests may send it as ``X-CSRF-Token``). :func:`csrf_protect`, the
dependency of every state-changing route, refuses (403) a request whose token does not
sign its own cookie, or whose ``Origin``/``Sec-Fetch-Site`` says it came from another
site. Another site can neither read the cookie nor forge the signature, so it cannot
build a valid form; sign-in forms are covered too (no login CSRF).
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from syncd.config import Settings
from syncd.errors import ForbiddenError

FIELD = "csrf_token"
HEADER = "x-csrf-token"
_SALT = "syncd-web-csrf"
REFUSED = (
    "This form was not accepted: it is out of date or was not sent from this site. "
    "Go back, reload the page and try again."
)


class CsrfRejected(ForbiddenError):
    """A form whose CSRF token is missing or wrong, or a cross-site request."""

    code = "csrf_rejected"


def cookie_name(settings: Settings) -> str:
    return "__Host-syncd_csrf" if settings.web.cookie_secure else "syncd_csrf"


def _serializer(request: Request) -> URLSafeSerializer:
    settings: Settings = request.app.state.settings
    # itsdangerous signs with the last key and accepts any: our ring is newest first.
    keys = [f"{_SALT}:{key}" for key in reversed(settings.secret_keys)]
    return URLSafeSerializer(keys, salt=_SALT)


def _cookie_value(request: Request) -> str:
    """This browser's CSRF value: its cookie's, or a new one (set by the response)."""
    cached: str | None = getattr(request.state, "csrf_value", None)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    value = request.cookies.get(cookie_name(settings), "")
    if len(value) < 32:
        value = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_value = value
    return value


def csrf_token(request: Request) -> str:
    """The token forms of this page carry (``{{ csrf_field() }}`` in templates)."""
    return str(_serializer(request).dumps(_cookie_value(request)))


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Give the browser its CSRF cookie when :func:`csrf_token` made a new one."""
    if not getattr(request.state, "csrf_new", False):
        return
    settings: Settings = request.app.state.settings
    response.set_cookie(
        cookie_name(settings),
        request.state.csrf_value,
        httponly=True,
        secure=settings.web.cookie_secure,
        samesite="lax",
        path="/",
    )


async def csrf_protect(request: Request) -> None:
    """Refuse the request unless it carries this browser's CSRF token and comes from
    this site. Every route that changes something depends on it."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise CsrfRejected(REFUSED)
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") not in _own_origins(request):
        raise CsrfRejected(REFUSED)
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(cookie_name(settings), "")
    token = request.headers.get(HEADER)
    if token is None:
        form = await request.form()
        field = form.get(FIELD)
        token = field if isinstance(field, str) else None
    if not cookie or not token:
        raise CsrfRejected(REFUSED)
    try:
        signed = _serializer(request).loads(token)
    except BadSignature:
        raise CsrfRejected(REFUSED) from None
    if not isinstance(signed, str) or not secrets.compare_digest(signed, cookie):
        raise CsrfRejected(REFUSED)


def _own_origins(request: Request) -> set[str]:
    """The origins this site is reached at: the request's own and the configured one."""
    settings: Settings = request.app.state.settings
    origins = {f"{request.url.scheme}://{request.url.netloc}"}
    public = settings.web.public_base_url or settings.public_base_url
    if public:
        scheme, _, rest = public.partition("://")
        origins.add(f"{scheme}://{rest.split('/', 1)[0]}")
    return origins
