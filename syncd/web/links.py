"""Absolute links to the hosted pages, for places without a request (the CLI's invite
link) and for redirects behind a proxy.

The base is ``[web] public_base_url``, else ``public_base_url``, else the address the
API listens on; every page lives under ``[web] prefix``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from syncd.config import Settings


def pages_base_url(settings: Settings) -> str:
    """``https://host[:port]/prefix`` of the pages, without a trailing slash."""
    base = settings.web.public_base_url or settings.public_base_url
    if not base:
        host = settings.api_host
        host = f"[{host}]" if ":" in host else host
        base = f"http://{host}:{settings.api_port}"
    return base.rstrip("/") + settings.web.prefix


def invite_url(settings: Settings, token: str) -> str:
    """The one-time link that lets a person set their password."""
    return f"{pages_base_url(settings)}/invite/{token}"


def sign_in_url(settings: Settings, application_id: str) -> str:
    """The application's own sign-in page (accounts are per application)."""
    return f"{pages_base_url(settings)}/sign-in?{urlencode({'app': application_id})}"
