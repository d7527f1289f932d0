"""A stateful local fake of GoTo Meeting's OAuth token endpoint and G2M REST API.

Shapes follow GoTo's developer reference: ``POST /G2M/rest/meetings`` needs
``subject``, ``starttime``, ``endtime``, ``meetingtype`` and ``timezonekey`` and answers
201 with a JSON **array** ``[{"joinURL", "meetingid", "maxParticipants",
"uniqueMeetingId", "conferenceCallInfo"}]``; ``PUT``/``DELETE /G2M/rest/meetings/{id}``
→ 204; ``GET /G2M/rest/upcomingMeetings`` lists the organizer's meetings. Tokens rotate
like Zoom's (shared ``OAuthEmulator``).
"""

from __future__ import annotations

from typing import Any

from tests.emulators.zoom import OAuthEmulator

REQUIRED = ("subject", "starttime", "endtime", "meetingtype", "timezonekey")


class GoToEmulator(OAuthEmulator):
    def __init__(self) -> None:
        super().__init__()
        self.meetings: dict[int, dict[str, Any]] = {}
        self._next_id = 512345678

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/G2M/rest/"

    def unauthorized(self) -> Any:
        return 401, {"int_err_code": "InvalidToken", "msg": "Invalid token passed"}, {}

    def api(self, method: str, path: str, query: dict[str, str], user: str, body: Any) -> Any:
        if path == "/G2M/rest/meetings" and method == "POST":
            body = body or {}
            # timezonekey is deprecated and may be empty, but it must be present.
            missing = [n for n in REQUIRED if n not in body or (n != "timezonekey" and not body[n])]
            if missing:
                return 400, {"int_err_code": "InvalidRequest", "msg": f"missing {missing}"}, {}
            self._next_id += 1
            meeting_id = self._next_id
            self.meetings[meeting_id] = {"_user": user, **body}
            return (
                201,
                [
                    {
                        "joinURL": f"https://global.gotomeeting.com/join/{meeting_id}",
                        "meetingid": meeting_id,
                        "maxParticipants": 250,
                        "uniqueMeetingId": meeting_id * 10 + 7,
                        "conferenceCallInfo": "VoIP",
                    }
                ],
                {},
            )
        if path == "/G2M/rest/upcomingMeetings" and method == "GET":
            listed = [
                {
                    "meetingId": meeting_id,
                    "subject": meeting["subject"],
                    "startTime": meeting["starttime"],
                    "endTime": meeting["endtime"],
                    "meetingType": meeting["meetingtype"],
                }
                for meeting_id, meeting in self.meetings.items()
                if meeting["_user"] == user
            ]
            return 200, listed, {}
        if path.startswith("/G2M/rest/meetings/"):
            try:
                meeting_id = int(path.rsplit("/", 1)[1])
            except ValueError:
                meeting_id = -1
            meeting = self.meetings.get(meeting_id)
            if meeting is None or meeting["_user"] != user:
                return 404, {"int_err_code": "NotFound", "msg": "Meeting not found"}, {}
            if method == "PUT":
                meeting.update(body or {})
                return 204, None, {}
            if method == "DELETE":
                del self.meetings[meeting_id]
                return 204, None, {}
        return 404, {"int_err_code": "NotFound", "msg": "Not found"}, {}
