"""Security headers of every hosted page: a strict Content-Security-Policy and friends.

The policy allows scripts, styles and fetches from this origin only (htmx is the static
file ``/static/htmx.min.js``; no inline script or style anywhere), images from here or
``data:`` (QR codes), forms posted here only, and no framing. A page that must post a
form onward (the OAuth consent redirecting to an application) sets its own header with
:func:`content_security_policy` and the middleware leaves it alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import URL, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


class PageHeaders:
    """ASGI middleware adding the headers to every response under ``prefix``.

    Plain ASGI rather than an ``@app.middleware("http")`` function: that style runs every
    request of the process (the whole ``/v1`` API included) through a task and a memory
    stream; this one passes everything outside the pages straight through, untouched.
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = URL(scope=scope).path if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        cacheable = path.startswith(self.prefix + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", content_security_policy())
                for name, value in PAGE_HEADERS.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
