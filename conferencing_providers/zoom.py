"""Zoom meetings through Zoom's REST API v2, authorized with OAuth (requests-oauthlib).

The meeting's ``agenda`` carries our tag, so after a crash between Zoom's 201 and our
commit the meeting is found in the user's list and reused. 401 with ``code: 124`` is an
expired access token (refresh and retry once); a refresh refused with ``invalid_grant``
is a revoked grant. 429 with ``X-RateLimit-Type: Daily-limit`` (100 creations per user
per day) waits until the next UTC day, which the worker treats as failing for now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, ClassVar

import requests

from conferencing_providers.base import (
    Conferencing,
    MeetingRequest,
    OAuthConferencingProvider,
    meeting_duration_minutes,
)
from providers.base import InvalidRemoteData, NotFound, ProviderError, RateLimited


class ZoomProvider(OAuthConferencingProvider):
    name: ClassVar[str] = "zoom"
    description: ClassVar[str] = "Zoom"
    default_api_base_url: ClassVar[str] = "https://api.zoom.us/v2/"
    default_token_url: ClassVar[str] = "https://zoom.us/oauth/token"
    default_authorize_url: ClassVar[str] = "https://zoom.us/oauth/authorize"

    def is_expired_token(self, response: requests.Response) -> bool:
        return _json(response).get("code") == 124

    def error_for(self, response: requests.Response) -> ProviderError | None:
        if response.status_code == 429 and response.headers.get("X-RateLimit-Type") == (
            "Daily-limit"
        ):
            now = dt.datetime.now(dt.UTC)
            tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
            return RateLimited(
                "Zoom's daily meeting-creation limit is reached",
                retry_after=(tomorrow - now).total_seconds(),
            )
        if response.status_code == 404:
            return NotFound("Zoom has no such meeting")
        return super().error_for(response)

    def _body(self, request: MeetingRequest) -> dict[str, Any]:
        return {
            "topic": request.summary[:200] or "Meeting",
            "type": 2,  # scheduled
            "start_time": request.start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": meeting_duration_minutes(request),
            "timezone": request.tzid,
            "agenda": request.tag,
        }

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        created = _json(self.request("POST", "users/me/meetings", json=self._body(request)))
        return _conference(created)

    def find_meeting(self, tag: str) -> Conferencing | None:
        listed = _json(
            self.request("GET", "users/me/meetings", params={"type": "upcoming", "page_size": 300})
        )
        for meeting in listed.get("meetings") or []:
            if isinstance(meeting, dict) and meeting.get("agenda") == tag:
                return _conference(_json(self.request("GET", f"meetings/{meeting['id']}")))
        return None

    def update_meeting(self, meeting_id: str, request: MeetingRequest) -> None:
        self.request("PATCH", f"meetings/{meeting_id}", json=self._body(request))

    def delete_meeting(self, meeting_id: str) -> None:
        with contextlib.suppress(NotFound):  # already gone is fine
            self.request("DELETE", f"meetings/{meeting_id}")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _conference(meeting: dict[str, Any]) -> Conferencing:
    if not meeting.get("join_url") or meeting.get("id") is None:
        raise InvalidRemoteData("Zoom meeting without id or join_url")
    return Conferencing(
        provider_description="Zoom",
        join_url=str(meeting["join_url"]),
        password=meeting.get("password") or None,
        provider_meeting_id=str(meeting["id"]),
    )
