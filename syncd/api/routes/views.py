"""Rows → Cronofy response objects, shared by calendars, profiles and userinfo."""

from __future__ import annotations

import datetime as dt
from typing import cast

from syncd.api.schemas import CalendarOut, ProfileCalendarOut, ProfileOut
from syncd.cronofy.availability import SyncStatus as WireSyncStatus
from syncd.statuses import SyncStatus
from syncd.store.models import Calendar, Profile
from syncd.sync.status import effective_status

#: syncd reads and writes calendars with the user's own authorization, never sandboxed.
PERMISSION_LEVEL = "unrestricted"


def wire_sync_status(status: SyncStatus) -> WireSyncStatus:
    """The response field's value: each ``SyncStatus`` member is the string the schema lists."""
    return cast(WireSyncStatus, status)


def profile_view(profile: Profile, now: dt.datetime, staleness_bound: float) -> ProfileOut:
    """A profile with its effective (staleness-aware) ``sync_status``."""
    status = effective_status(profile, now, staleness_bound)
    return ProfileOut(
        provider_name=profile.provider_name or profile.provider,
        provider_service=profile.provider_service or profile.provider,
        profile_id=profile.id,
        profile_name=profile.name,
        profile_connected=profile.sync_status != SyncStatus.DISCONNECTED,
        profile_initial_sync_required=not profile.initial_sync_done,
        sync_status=wire_sync_status(status.sync_status),
        sync_status_reason=status.reason,
    )


def profile_calendar_view(calendar: Calendar) -> ProfileCalendarOut:
    return ProfileCalendarOut(
        calendar_id=calendar.id,
        calendar_name=calendar.name,
        calendar_readonly=calendar.readonly,
        calendar_deleted=calendar.deleted,
        calendar_primary=calendar.primary,
        calendar_integrated_conferencing_available=calendar.integrated_conferencing_available,
        calendar_attachments_available=False,
        permission_level=PERMISSION_LEVEL,
    )


def calendar_view(calendar: Calendar, profile: Profile) -> CalendarOut:
    return CalendarOut(
        provider_name=profile.provider_name or profile.provider,
        profile_id=profile.id,
        profile_name=profile.name,
        **profile_calendar_view(calendar).model_dump(),
    )
