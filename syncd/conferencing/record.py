"""``MeetingRecord``: the conferencing details stored on a managed event.

It is kept as JSON in ``ManagedEvent.conferencing`` (and copied to the written
``Event.conferencing``), in one of three shapes:

- a meeting: its join details, the request's times and summary it was made for (to
  tell when it must be moved), and what the caller asked for (``explicit``);
- a failure: ``{"key", "failure"}``, conferencing failed for good for this request;
- polling: ``{"key", "polling"}``, the calendar provider is still creating its own
  (integrated) conference for the request last changed at ``polling``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["MeetingRecord"]


@dataclass(frozen=True)
class MeetingRecord:
    """One managed event's conferencing, as stored (``to_json``/``from_json``)."""

    #: What the request asked for: ``integrated``, ``explicit``, an adapter or a ``pro_…``.
    key: str | None
    #: The conferencing adapter that made the meeting ("" for integrated conferencing).
    adapter: str = ""
    #: Whether the meeting exists at the provider (so it is moved and deleted there).
    remote: bool = False
    provider_description: str = ""
    join_url: str | None = None
    password: str | None = None
    meeting_id: str | None = None
    #: The request's start, end and summary the meeting was made (or last moved) for.
    start: str | None = None
    end: str | None = None
    summary: str | None = None
    #: ``explicit``: the join details the caller asked for.
    requested_join_url: str | None = None
    requested_description: str | None = None
    failure: str | None = None
    polling: str | None = None

    @classmethod
    def failed(cls, key: str | None, reason: str) -> MeetingRecord:
        return cls(key=key, failure=reason)

    @classmethod
    def awaiting(cls, key: str, polling: str) -> MeetingRecord:
        return cls(key=key, polling=polling)

    def replace(self, **changes: Any) -> MeetingRecord:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> MeetingRecord | None:
        if not data:
            return None
        return cls(
            key=data.get("key"),
            adapter=data.get("adapter", ""),
            remote=bool(data.get("remote", False)),
            provider_description=data.get("provider_description", ""),
            join_url=data.get("join_url"),
            password=data.get("password"),
            meeting_id=data.get("meeting_id"),
            start=data.get("start"),
            end=data.get("end"),
            summary=data.get("summary"),
            requested_join_url=data.get("requested_join_url"),
            requested_description=data.get("requested_description"),
            failure=data.get("failure"),
            polling=data.get("polling"),
        )

    def to_json(self) -> dict[str, Any]:
        if self.failure is not None:
            return {"key": self.key, "failure": self.failure}
        if self.polling is not None:
            return {"key": self.key, "polling": self.polling}
        return {
            "key": self.key,
            "adapter": self.adapter,
            "remote": self.remote,
            "provider_description": self.provider_description,
            "join_url": self.join_url,
            **({"password": self.password} if self.password else {}),
            "meeting_id": self.meeting_id,
            "start": self.start,
            "end": self.end,
            "summary": self.summary,
            "requested_join_url": self.requested_join_url,
            "requested_description": self.requested_description,
        }
