"""Security headers of every hosted page: a strict Content-Security-Policy and friends.

The policy allows scripts, styles and fetches from this origin only (htmx is the static
file ``/static/htmx.min.js``; no inline script or style anywhere), images from here or
``data:`` (QR codes), forms posted here only, and no framing. A page that must post a
form onward (the OAuth consent redirecting to an application) sets its own header with
:func:`content_security_policy` and the middleware leaves it alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from fastapi import Request, Response


def content_security_policy(form_action: Iterable[str] = ()) -> str:
    """The pages' policy; ``form_action`` adds origins a form may be sent (or redirected) to."""
    targets = " ".join(["'self'", *form_action])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action {targets}; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Invite and sign-in links carry secrets or next= paths: never leak them onward.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def page_headers_middleware(
    prefix: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """An HTTP middleware adding the headers to every response under ``prefix``."""

    async def add_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        path = request.url.path
        if path == prefix or path.startswith(prefix + "/"):
            response.headers.setdefault("Content-Security-Policy", content_security_policy())
            for name, value in PAGE_HEADERS.items():
                response.headers.setdefault(name, value)
            if not path.startswith(prefix + "/static/"):
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    return add_headers
