"""Rows → Cronofy response objects, shared by calendars, profiles and userinfo."""

from __future__ import annotations

import datetime as dt
from typing import cast

from syncd.api.schemas import CalendarOut, ProfileCalendarOut, ProfileOut
from syncd.cronofy.availability import SyncStatus as WireSyncStatus
from syncd.cronofy.links import profile_relink_url
from syncd.statuses import SyncStatus
from syncd.store.models import Calendar, Profile
from syncd.sync.status import effective_status

#: syncd reads and writes calendars with the user's own authorization, never sandboxed.
PERMISSION_LEVEL = "unrestricted"


def wire_sync_status(status: SyncStatus) -> WireSyncStatus:
    """The response field's value: each ``SyncStatus`` member is the string the schema lists."""
    return cast(WireSyncStatus, status)


def relink_url(base_url: str, profile: Profile) -> str:
    """The hosted page that reauthorizes ``profile`` (the person signs in first)."""
    return profile_relink_url(base_url, profile.id)


def linking_profile_view(profile: Profile) -> dict[str, str]:
    """``linking_profile`` of a token answer: the profile the authorization connected."""
    return {
        "provider_name": profile.provider,
        "profile_id": profile.id,
        "profile_name": profile.name,
    }


def profile_view(
    profile: Profile, now: dt.datetime, staleness_bound: float, base_url: str | None = None
) -> ProfileOut:
    """A profile with its effective (staleness-aware) ``sync_status``; a disconnected one
    carries ``profile_relink_url`` when ``base_url`` (this server's public URL) is given."""
    status = effective_status(profile, now, staleness_bound)
    connected = profile.sync_status != SyncStatus.DISCONNECTED
    return ProfileOut(
        provider_name=profile.provider_name or profile.provider,
        provider_service=profile.provider_service or profile.provider,
        profile_id=profile.id,
        profile_name=profile.name,
        profile_connected=connected,
        profile_initial_sync_required=not profile.initial_sync_done,
        sync_status=wire_sync_status(status.sync_status),
        sync_status_reason=status.reason,
        profile_relink_url=None if connected or base_url is None else relink_url(base_url, profile),
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
