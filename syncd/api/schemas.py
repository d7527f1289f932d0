"""Request and response bodies (pydantic), which are also the OpenAPI schema.

The availability query models live in ``syncd.cronofy.availability`` (scheduling links
carry them too). Unknown request fields are ignored, as Cronofy clients send fields this
server has no use for.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from syncd.cronofy.availability import SyncStatus

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


class LocalizedTime(BaseModel):
    """Cronofy's ``localized_times`` form: the local time with its offset, and the zone."""

    time: str
    tzid: str


class FreeBusyBlock(BaseModel):
    calendar_id: str
    start: str | LocalizedTime = Field(
        description="UTC time, a date (all-day), or {time, tzid} with localized_times"
    )
    end: str | LocalizedTime
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


class PasswordInviteOut(BaseModel):
    account_id: str
    url: str
    expires_at: str


class PasswordInviteResponse(BaseModel):
    password_invite: PasswordInviteOut


class Health(BaseModel):
    status: Literal["ok"]
