"""GoTo Meeting through the G2M REST API, authorized with OAuth (requests-oauthlib).

GoTo meetings have no free-text field besides ``subject``, so the subject ends with a
short hash of our tag (``… #3fa9c1d2e07b``): that is how an interrupted creation is
found again in ``upcomingMeetings`` instead of being repeated. Create answers a JSON
array of one meeting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from typing import Any, ClassVar

import requests

from conferencing_providers.base import Conferencing, MeetingRequest, OAuthConferencingProvider
from providers.base import InvalidRemoteData, NotFound, ProviderError

JOIN_URL = "https://global.gotomeeting.com/join/{}"


def tag_suffix(tag: str) -> str:
    return " #" + hashlib.sha256(tag.encode()).hexdigest()[:12]


class GoToProvider(OAuthConferencingProvider):
    name: ClassVar[str] = "goto"
    description: ClassVar[str] = "GoTo Meeting"
    default_api_base_url: ClassVar[str] = "https://api.getgo.com/G2M/rest/"
    default_token_url: ClassVar[str] = "https://authentication.logmeininc.com/oauth/token"
    default_authorize_url: ClassVar[str] = "https://authentication.logmeininc.com/oauth/authorize"

    def error_for(self, response: requests.Response) -> ProviderError | None:
        if response.status_code == 404:
            return NotFound("GoTo has no such meeting")
        return super().error_for(response)

    def _body(self, request: MeetingRequest) -> dict[str, Any]:
        suffix = tag_suffix(request.tag)
        return {
            "subject": (request.summary or "Meeting")[: 100 - len(suffix)] + suffix,
            "starttime": _utc(request.start),
            "endtime": _utc(request.end),
            "passwordrequired": False,
            "conferencecallinfo": "VoIP",
            "timezonekey": "",
            "meetingtype": "scheduled",
        }

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        created = self.request("POST", "meetings", json=self._body(request)).json()
        if not isinstance(created, list) or not created or not isinstance(created[0], dict):
            raise InvalidRemoteData("GoTo create answered without a meeting array")
        meeting = created[0]
        if meeting.get("meetingid") is None:
            raise InvalidRemoteData("GoTo meeting without meetingid")
        meeting_id = str(meeting["meetingid"])
        return Conferencing(
            provider_description=self.description,
            join_url=str(meeting.get("joinURL") or JOIN_URL.format(meeting_id)),
            provider_meeting_id=meeting_id,
        )

    def find_meeting(self, tag: str) -> Conferencing | None:
        suffix = tag_suffix(tag)
        listed = self.request("GET", "upcomingMeetings").json()
        for meeting in listed if isinstance(listed, list) else []:
            if isinstance(meeting, dict) and str(meeting.get("subject", "")).endswith(suffix):
                meeting_id = str(meeting["meetingId"])
                return Conferencing(
                    provider_description=self.description,
                    join_url=str(meeting.get("joinURL") or JOIN_URL.format(meeting_id)),
                    provider_meeting_id=meeting_id,
                )
        return None

    def update_meeting(self, meeting_id: str, request: MeetingRequest) -> None:
        self.request("PUT", f"meetings/{meeting_id}", json=self._body(request))

    def delete_meeting(self, meeting_id: str) -> None:
        with contextlib.suppress(NotFound):  # already gone is fine
            self.request("DELETE", f"meetings/{meeting_id}")


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
