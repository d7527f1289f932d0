"""Request and response bodies (pydantic), which are also the OpenAPI schema.

Request models check structure and simple bounds; limits that relate several fields
(total span, ``required`` against the group size) are checked by the handlers. Unknown
request fields are ignored, as Cronofy clients send fields this server has no use for.
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
START_INTERVALS = (5, 10, 15, 20, 30, 45, 60)

SyncStatus = Literal["active", "pending", "disconnected"]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- availability request -------------------------------------------------------------


class Period(_Lenient):
    """A time range ``[start, end)``; both with an offset, e.g. ``2025-01-21T09:00:00Z``."""

    start: UtcTime
    end: UtcTime


class Duration(_Lenient):
    minutes: int = Field(ge=0, le=MAX_DURATION_MINUTES)


class BufferSide(_Lenient):
    """Buffer on one side of a meeting. ``minimum``/``maximum`` are accepted and ignored:
    the buffer is always exactly ``minutes``."""

    minutes: int = Field(default=0, ge=0, le=MAX_BUFFER_MINUTES)
    minimum: dict[str, Any] | None = None
    maximum: dict[str, Any] | None = None


class Buffer(_Lenient):
    before: BufferSide | None = None
    after: BufferSide | None = None


class MemberQuery(_Lenient):
    """One member: an account of the calling application, optionally narrowed."""

    sub: str = Field(min_length=1, max_length=200)
    calendar_ids: list[str] | None = Field(default=None, max_length=MAX_CALENDARS_PER_MEMBER)
    available_periods: list[Period] | None = Field(default=None, max_length=MAX_QUERY_PERIODS)
    managed_availability: bool | None = None
    availability_rule_ids: list[str] | None = None


class ParticipantGroupQuery(_Lenient):
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


class AvailabilityRequest(_Lenient):
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
    query_slots: list[dict[str, Any]] | None = None

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


# --- availability response ------------------------------------------------------------


class Participant(BaseModel):
    sub: str


class AvailableTimeOut(BaseModel):
    start: str = Field(examples=["2025-01-21T09:00:00Z"])
    end: str = Field(examples=["2025-01-21T10:00:00Z"])
    participants: list[Participant]


class MemberStatus(BaseModel):
    sub: str
    sync_status: SyncStatus


class AvailabilityResponse(BaseModel):
    """``available_periods`` for ``periods``, ``available_slots`` for the slot formats."""

    available_periods: list[AvailableTimeOut] | None = None
    available_slots: list[AvailableTimeOut] | None = None
    member_statuses: list[MemberStatus] | None = None


# --- free/busy --------------------------------------------------------------------------


class Pages(BaseModel):
    current: int
    total: int
    next_page: str | None = None


class FreeBusyBlock(BaseModel):
    calendar_id: str
    start: str = Field(description="UTC time, local time with offset, or a date (all-day)")
    end: str
    free_busy_status: Literal["busy", "tentative", "free", "unknown"]


class FreeBusyResponse(BaseModel):
    pages: Pages
    free_busy: list[FreeBusyBlock]


# --- calendars, profiles, userinfo ------------------------------------------------------


class CalendarOut(BaseModel):
    provider_name: str
    profile_id: str
    profile_name: str
    calendar_id: str
    calendar_name: str
    calendar_readonly: bool
    calendar_deleted: bool
    calendar_primary: bool
    calendar_integrated_conferencing_available: bool
    calendar_attachments_available: bool
    permission_level: Literal["sandbox", "unrestricted"]


class CalendarsResponse(BaseModel):
    sub: str
    calendars: list[CalendarOut]


class ProfileOut(BaseModel):
    provider_name: str
    provider_service: str
    profile_id: str
    profile_name: str
    profile_connected: bool
    profile_initial_sync_required: bool
    sync_status: SyncStatus
    sync_status_reason: str
    #: Only on disconnected profiles: the hosted page that reconnects this profile.
    profile_relink_url: str | None = None


class ProfilesResponse(BaseModel):
    profiles: list[ProfileOut]


class ProfileCalendarOut(BaseModel):
    calendar_id: str
    calendar_name: str
    calendar_readonly: bool
    calendar_deleted: bool
    calendar_primary: bool
    calendar_integrated_conferencing_available: bool
    calendar_attachments_available: bool
    permission_level: Literal["sandbox", "unrestricted"]


class UserinfoProfileOut(ProfileOut):
    profile_calendars: list[ProfileCalendarOut]


class UserinfoAuthorization(BaseModel):
    scope: str
    status: str


class UserinfoData(BaseModel):
    authorization: UserinfoAuthorization
    profiles: list[UserinfoProfileOut]


class UserinfoResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sub: str
    email: str
    name: str
    zoneinfo: str
    cronofy_type: str = Field(alias="cronofy.type", serialization_alias="cronofy.type")
    cronofy_data: UserinfoData = Field(alias="cronofy.data", serialization_alias="cronofy.data")


class AccountOut(BaseModel):
    account_id: str
    email: str
    name: str
    scope: str
    default_tzid: str


class AccountResponse(BaseModel):
    account: AccountOut


class Health(BaseModel):
    status: Literal["ok"]
