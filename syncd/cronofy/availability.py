"""Cronofy's availability query, as pydantic models: what POST /v1/availability takes,
and what a Real-Time Scheduling link or a sequenced query carries inside it.

Request models check structure and simple bounds; limits that relate several fields
(total span, ``required`` against the group size) are checked by
``syncd.scheduling.availability``. Unknown fields are ignored, as Cronofy clients send
fields this server has no use for.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from syncd.availability import DEFAULT_MAX_RESULTS, MAX_RESULTS_CAP
from syncd.cronofy.times import UtcTime

#: Limits of one availability query (docs/api.md, "Limits").
MAX_QUERY_PERIODS = 50
MAX_QUERY_SPAN_DAYS = 35
MAX_PARTICIPANT_GROUPS = 10
MAX_MEMBERS_PER_GROUP = 50
MAX_CALENDARS_PER_MEMBER = 50
MAX_DURATION_MINUTES = MAX_QUERY_SPAN_DAYS * 24 * 60
MAX_BUFFER_MINUTES = 24 * 60
MAX_QUERY_SLOTS = 50
START_INTERVALS = (5, 10, 15, 20, 30, 45, 60)

SyncStatus = Literal["active", "pending", "disconnected"]


class Lenient(BaseModel):
    """Unknown keys are ignored (Cronofy clients send more than a server needs)."""

    model_config = ConfigDict(extra="ignore")


# --- availability request -------------------------------------------------------------


class Period(Lenient):
    """A time range ``[start, end)``; both with an offset, e.g. ``2025-01-21T09:00:00Z``."""

    start: UtcTime
    end: UtcTime


class Duration(Lenient):
    minutes: int = Field(ge=0, le=MAX_DURATION_MINUTES)


class BufferSide(Lenient):
    """Buffer on one side of a meeting: ``minutes`` kept free in the members' calendars.

    In a sequenced query ``minimum``/``maximum`` bound the gap to the neighbouring step;
    in a single availability query there is no neighbour and they have no effect."""

    minutes: int = Field(default=0, ge=0, le=MAX_BUFFER_MINUTES)
    minimum: Duration | None = None
    maximum: Duration | None = None


class Buffer(Lenient):
    before: BufferSide | None = None
    after: BufferSide | None = None


class MemberQuery(Lenient):
    """One member: an account of the calling application, optionally narrowed."""

    sub: str = Field(min_length=1, max_length=200)
    calendar_ids: list[str] | None = Field(default=None, max_length=MAX_CALENDARS_PER_MEMBER)
    available_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    managed_availability: bool | None = None
    availability_rule_ids: list[str] | None = None


class ParticipantGroupQuery(Lenient):
    """Members of which ``required`` (``"all"`` or at least N) must be free together."""

    members: list[MemberQuery] = Field(min_length=1, max_length=MAX_MEMBERS_PER_GROUP)
    required: Literal["all"] | int = "all"

    @field_validator("members", mode="before")
    @classmethod
    def _bare_subs(cls, value: Any) -> Any:
        """Cronofy also accepts a bare ``"acc_…"`` string for ``{"sub": "acc_…"}``."""
        if isinstance(value, list):
            return [{"sub": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("required", mode="before")
    @classmethod
    def _all_or_count(cls, value: Any) -> Any:
        if value is None:
            return "all"
        if value == "all" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise PydanticCustomError("errors.invalid", 'required must be "all" or an integer')


class AvailabilityRequest(Lenient):
    """POST /v1/availability. ``query_periods`` and the legacy root ``available_periods``
    (what pycronofy sends) mean the same thing; if both are given they are combined."""

    participants: list[ParticipantGroupQuery] = Field(
        min_length=1, max_length=MAX_PARTICIPANT_GROUPS
    )
    required_duration: Duration
    query_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    available_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    buffer: Buffer | None = None
    start_interval: Duration | None = None
    response_format: Literal["periods", "slots", "overlapping_slots"] | None = None
    max_results: int | None = Field(default=None, ge=1, le=MAX_RESULTS_CAP)
    include_member_statuses: bool = False
    query_slots: list[QuerySlot] | None = Field(default=None, max_length=MAX_QUERY_SLOTS)

    @field_validator("participants", mode="before")
    @classmethod
    def _single_group(cls, value: Any) -> Any:
        """One group may be given without the surrounding list."""
        return [value] if isinstance(value, dict) else value

    @field_validator("include_member_statuses", mode="before")
    @classmethod
    def _null_is_false(cls, value: Any) -> Any:
        return False if value is None else value

    def periods(self) -> list[Period]:
        return [*(self.query_periods or []), *(self.available_periods or [])]

    def effective_max_results(self) -> int:
        return self.max_results or DEFAULT_MAX_RESULTS


# --- query slots and sequenced availability --------------------------------------------

MAX_SEQUENCE_STEPS = 10


class QuerySlot(Lenient):
    """One candidate start to check (``query_slots``); it lasts ``required_duration``."""

    start: UtcTime


class SequenceStep(Lenient):
    """One event of a sequenced query, placed in ``ordinal`` order."""

    sequence_id: str = Field(min_length=1, max_length=200)
    ordinal: int | None = Field(default=None, ge=0, le=1000)
    participants: list[ParticipantGroupQuery] = Field(
        min_length=1, max_length=MAX_PARTICIPANT_GROUPS
    )
    required_duration: Duration
    start_interval: Duration | None = None
    buffer: Buffer | None = None
    available_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    event: dict[str, Any] | None = None

    @field_validator("participants", mode="before")
    @classmethod
    def _single_group(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class SequencedAvailabilityRequest(Lenient):
    """POST /v1/sequenced_availability (pycronofy sends ``available_periods``)."""

    sequence: list[SequenceStep] = Field(min_length=1, max_length=MAX_SEQUENCE_STEPS)
    query_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    available_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    max_results: int | None = Field(default=None, ge=1, le=MAX_RESULTS_CAP)

    def periods(self) -> list[Period]:
        return [*(self.query_periods or []), *(self.available_periods or [])]


AvailabilityRequest.model_rebuild()
