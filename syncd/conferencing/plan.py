"""Which conferencing an event may use (the API's check) and will use (the worker's plan).

A request names conferencing by ``profile_id``: ``none``, ``explicit`` (the caller's own
join details), ``integrated`` (the calendar's own Meet/Teams), ``default`` (the account's
default profile, else the adapter declaring ``is_default_fallback``) or one of the
account's conferencing profiles (``pro_…``). The API refuses what can never work (422,
``check_requested_conferencing``); the worker resolves the rest against the profiles as
they are when it runs (``plan_conferencing``): a profile disconnected since is a failure
of the conferencing, never of the event.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from syncd.conferencing.capabilities import (
    CALENDAR_BACKED,
    default_fallback_adapter,
    explicit_details_adapter,
    join_url_problem,
    not_served_reason,
    serves_calendar,
)
from syncd.errors import FieldErrors
from syncd.statuses import ConferencingProfileStatus
from syncd.store import managed as store
from syncd.store.crypto import SecretBox
from syncd.store.models import Account, Calendar, ConferencingProfile, Profile

__all__ = [
    "Plan",
    "PlanKind",
    "RequestedProfile",
    "check_requested_conferencing",
    "plan_conferencing",
]


class RequestedProfile(StrEnum):
    """The ``conferencing.profile_id`` keywords of the Cronofy API (else a ``pro_…`` id)."""

    NONE = "none"
    DEFAULT = "default"
    INTEGRATED = "integrated"
    EXPLICIT = "explicit"


class PlanKind(StrEnum):
    NONE = "none"
    #: A conferencing adapter makes the meeting before the event is written.
    ADAPTER = "adapter"
    #: The calendar provider adds its own conferencing (Meet, Teams) after the write.
    INTEGRATED = "integrated"


@dataclass
class Plan:
    """Which conferencing a request asks for, resolved against the account's profiles."""

    kind: PlanKind
    #: ``MeetingRecord.key``: explicit | integrated | the fallback adapter | pro_…
    key: str = ""
    adapter: str = ""  # conferencing provider name
    profile_id: str | None = None
    credentials: dict[str, Any] = dataclasses.field(default_factory=dict)
    failure: str | None = None


def _calendar_provider(session: Session, calendar: Calendar) -> str:
    profile = session.get(Profile, calendar.profile_id)
    return profile.provider if profile is not None else ""


def plan_conferencing(
    session: Session,
    box: SecretBox,
    account: Account,
    calendar: Calendar,
    conferencing: dict[str, Any] | None,
) -> Plan:
    """The worker's plan for a stored request's ``conferencing``."""
    profile_id = (conferencing or {}).get("profile_id")
    if not profile_id or profile_id == RequestedProfile.NONE:
        return Plan(PlanKind.NONE)
    if profile_id == RequestedProfile.EXPLICIT:
        return Plan(PlanKind.ADAPTER, key=profile_id, adapter=explicit_details_adapter())
    if profile_id == RequestedProfile.INTEGRATED:
        return Plan(PlanKind.INTEGRATED, key=profile_id)
    calendar_provider = _calendar_provider(session, calendar)
    if profile_id == RequestedProfile.DEFAULT:
        chosen = account.default_conferencing_profile_id
        profile = session.get(ConferencingProfile, chosen) if chosen else None
        if (
            profile is None
            or profile.status != ConferencingProfileStatus.ACTIVE
            or not serves_calendar(profile.provider, calendar_provider)
        ):
            # The account's choice cannot serve this event: the documented fallback.
            fallback = default_fallback_adapter()
            return Plan(PlanKind.ADAPTER, key=fallback, adapter=fallback)
        profile_id = profile.id
    profile = session.get(ConferencingProfile, profile_id)
    if profile is None or profile.account_id != account.id:
        return Plan(PlanKind.ADAPTER, key=profile_id, failure="the conferencing profile is gone")
    if profile.status != ConferencingProfileStatus.ACTIVE:
        return Plan(
            PlanKind.ADAPTER, key=profile_id, failure="the conferencing profile is disconnected"
        )
    if not serves_calendar(profile.provider, calendar_provider):
        return Plan(PlanKind.ADAPTER, key=profile_id, failure=not_served_reason(profile.provider))
    if profile.provider in CALENDAR_BACKED:
        # The calendar's own Meet/Teams.
        return Plan(PlanKind.INTEGRATED, key=str(RequestedProfile.INTEGRATED))
    return Plan(
        PlanKind.ADAPTER,
        key=profile.id,
        adapter=profile.provider,
        profile_id=profile.id,
        credentials=store.conferencing_credentials(box, profile),
    )


def check_requested_conferencing(
    session: Session,
    account: Account,
    calendar: Calendar,
    profile_id: str,
    provider_description: str | None,
    join_url: str | None,
    problems: FieldErrors,
) -> dict[str, Any] | None:
    """The request's ``conferencing`` as stored; what can never work is added to ``problems``."""
    if profile_id == RequestedProfile.NONE:
        return None
    if profile_id == RequestedProfile.EXPLICIT:
        _check_explicit(provider_description, join_url, problems)
        return {
            "profile_id": "explicit",
            "provider_description": provider_description,
            "join_url": join_url,
        }
    if profile_id == RequestedProfile.INTEGRATED:
        if not calendar.integrated_conferencing_available:
            problems.add(
                "conferencing.profile_id",
                "errors.integrated_conferencing_unavailable",
                "this calendar has no integrated conferencing "
                "(calendar_integrated_conferencing_available is false)",
            )
    elif profile_id != RequestedProfile.DEFAULT:
        _check_profile(session, account, calendar, profile_id, problems)
    return {"profile_id": profile_id}


def _check_explicit(
    provider_description: str | None, join_url: str | None, problems: FieldErrors
) -> None:
    if not join_url:
        problems.add("conferencing.join_url", "errors.required", "join_url is required")
    else:
        reason = join_url_problem(join_url)
        if reason:
            problems.add("conferencing.join_url", "errors.invalid", reason)
    if not provider_description:
        problems.add(
            "conferencing.provider_description",
            "errors.required",
            "provider_description is required",
        )


def _check_profile(
    session: Session, account: Account, calendar: Calendar, profile_id: str, problems: FieldErrors
) -> None:
    profile = session.get(ConferencingProfile, profile_id)
    if profile is None or profile.account_id != account.id:
        problems.add(
            "conferencing.profile_id",
            "errors.unknown_profile",
            'profile_id must be "default", "integrated", "explicit", "none" or one of '
            "the account's conferencing profiles",
        )
    elif profile.status != ConferencingProfileStatus.ACTIVE:
        problems.add(
            "conferencing.profile_id",
            "errors.profile_disconnected",
            f"conferencing profile {profile_id} is disconnected: authorize it again",
        )
    elif not serves_calendar(profile.provider, _calendar_provider(session, calendar)):
        problems.add(
            "conferencing.profile_id",
            "errors.conferencing_unavailable",
            not_served_reason(profile.provider),
        )
