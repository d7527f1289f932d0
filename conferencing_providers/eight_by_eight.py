"""8x8 (the ``default`` fallback): no API and no authorization, a meeting is a room URL.

Anyone with the URL can join, so the room name carries 128 bits nobody can guess: it is
derived from the request's ``secret`` (kept with the managed event, chosen once), so
every attempt of one event's job makes the same room, even one that dies before its
commit while its hung calendar write still lands later. Nothing exists at 8x8 until
someone opens the link, so there is nothing to find, move or delete.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import ClassVar

from conferencing_providers.base import Conferencing, ConferencingProvider, MeetingRequest

ROOM_BASE_URL = "https://8x8.vc/"
#: Bytes of the room name's derivation kept (128 bits).
ROOM_BYTES = 16


def room_name(secret: str) -> str:
    """The room for an event's secret (a fresh random one when there is none)."""
    if secret:
        digest = hmac.new(secret.encode(), b"syncd 8x8 room", hashlib.sha256).digest()
    else:
        digest = secrets.token_bytes(ROOM_BYTES)
    token = base64.urlsafe_b64encode(digest[:ROOM_BYTES]).decode().rstrip("=")
    return "syncd-" + token.replace("_", "x").replace("-", "y")


class EightByEightProvider(ConferencingProvider):
    name: ClassVar[str] = "eight_by_eight"
    description: ClassVar[str] = "8x8"
    is_default_fallback: ClassVar[bool] = True

    def create_meeting(self, request: MeetingRequest) -> Conferencing:
        room = room_name(request.secret)
        return Conferencing(
            provider_description=self.description,
            join_url=ROOM_BASE_URL + room,
            provider_meeting_id=room,
        )
