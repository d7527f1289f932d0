"""``explicit``: the caller brings its own join details; syncd stores and writes them.

The URL is checked when the API accepts the request (``validate_join_url``), so the
adapter only hands the details back.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from conferencing_providers.base import Conferencing, ConferencingProvider, MeetingRequest
from providers.base import PermissionDenied

MAX_JOIN_URL_LENGTH = 2048


def validate_join_url(url: str) -> str | None:
    """Why ``url`` cannot be a join URL, or None when it is fine (absolute http/https)."""
    if len(url) > MAX_JOIN_URL_LENGTH:
        return f"join_url must be at most {MAX_JOIN_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "join_url is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "join_url must be an absolute http or https URL"
    if any(ch.isspace() for ch in url):
        return "join_url must not contain whitespace"
    return None


class ExplicitConferencing(ConferencingProvider):
    name: ClassVar[str] = "explicit"
    description: ClassVar[str] = "Conferencing"
    takes_explicit_details: ClassVar[bool] = True

    @classmethod
    def validate_join_url(cls, url: str) -> str | None:
        return validate_join_url(url)  # the module's function (a method is no closure)

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        if not request.join_url or validate_join_url(request.join_url) is not None:
            raise PermissionDenied("explicit conferencing needs a valid join_url")
        return Conferencing(
            provider_description=request.provider_description or self.description,
            join_url=request.join_url,
        )
