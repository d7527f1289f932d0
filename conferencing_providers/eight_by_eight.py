"""8x8 (the ``default`` fallback): no API and no authorization, a meeting is a room URL.

Anyone with the URL can join, so the room name is 128 random bits. Nothing exists at
8x8 until someone opens the link, so there is nothing to move or delete, and an
interrupted attempt that is retried merely picks another name.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from conferencing_providers.base import Conferencing, ConferencingProvider, MeetingRequest

ROOM_BASE_URL = "https://8x8.vc/"


class EightByEightProvider(ConferencingProvider):
    name: ClassVar[str] = "eight_by_eight"
    description: ClassVar[str] = "8x8"
    is_default_fallback: ClassVar[bool] = True

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        room = "syncd-" + secrets.token_urlsafe(16).replace("_", "x").replace("-", "y")
        return Conferencing(
            provider_description=self.description,
            join_url=ROOM_BASE_URL + room,
            provider_meeting_id=room,
        )
