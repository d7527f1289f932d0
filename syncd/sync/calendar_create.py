"""``POST /v1/calendars``: create a calendar at the provider, at once, and store it.

The one provider call the API makes while the caller waits, because Cronofy answers
with the new calendar's ``calendar_id``. The profile is read and its credentials
decrypted in one transaction, the provider is called outside any, and the calendar row
is stored in a second (with any refreshed credentials), so a slow provider holds no lock.
The next sync finds the row by its provider id and keeps it.

Duplicate names: where the adapter declares ``unique_calendar_names`` (the provider
refuses a second one), an existing calendar of the profile with that name is Cronofy's
422 ``errors.duplicate_calendar_name`` on ``name`` (pycronofy's ``create_calendar``
reads it), as is the provider's own refusal (``AlreadyExists``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from providers.base import (
    AlreadyExists,
    AuthRevoked,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RemoteCalendar,
    TransientError,
)
from syncd.config import Settings
from syncd.errors import FieldErrors, ForbiddenError, ServiceUnavailableError, invalid
from syncd.ids import new_id
from syncd.registry import build_provider, provider_class
from syncd.statuses import SyncStatus
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import Account, Calendar, Profile
from syncd.store.profiles import profile_credentials, store_credentials

__all__ = ["CreatedCalendar", "create_calendar"]


@dataclass(frozen=True)
class CreatedCalendar:
    calendar: Calendar
    profile: Profile


def _duplicate() -> FieldErrors:
    return invalid(
        "name",
        "errors.duplicate_calendar_name",
        "A calendar with this name already exists and the provider does not allow duplicates",
    )


def create_calendar(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    account: Account,
    profile_id: str,
    name: str,
    color: str | None,
) -> CreatedCalendar:
    with session_scope(engine) as session:
        profile = _writable_profile(session, account, profile_id, name, color)
        provider_name = profile.provider
        credentials = profile_credentials(box, profile)
    provider = build_provider(settings, provider_name, credentials)
    try:
        remote = provider.create_calendar(name, color)
    except AlreadyExists:
        raise _duplicate() from None
    except (TransientError, RateLimited) as error:
        raise ServiceUnavailableError(f"the provider is unavailable: {error}") from error
    except (AuthRevoked, PermissionDenied) as error:
        raise ForbiddenError(f"the provider refused to create the calendar: {error}") from error
    except ProviderError as error:
        raise ServiceUnavailableError(f"the provider failed: {error}") from error
    finally:
        refreshed = provider.refreshed_credentials()
        if refreshed is not None:
            with session_scope(engine) as session:
                current = session.get(Profile, profile_id)
                if current is not None:
                    store_credentials(session, box, current, refreshed)
    with session_scope(engine) as session:
        return _stored(session, profile_id, remote, name)


def _writable_profile(
    session: Session, account: Account, profile_id: str, name: str, color: str | None
) -> Profile:
    """The account's profile, if its adapter can create this calendar (422 otherwise)."""
    profile = session.get(Profile, profile_id)
    if profile is None or profile.account_id != account.id:
        raise invalid("profile_id", "errors.not_found", "no such profile for this account")
    if profile.sync_status == SyncStatus.DISCONNECTED:
        raise invalid(
            "profile_id", "errors.profile_disconnected", "the profile must be reauthorized"
        )
    support = provider_class(profile.provider).write_support
    problems = FieldErrors()
    if not support.create_calendar:
        problems.add("profile_id", "errors.not_supported", "the provider cannot create calendars")
    if color and not support.calendar_color:
        problems.add("color", "errors.not_supported", "the provider cannot colour calendars")
    problems.raise_if_any()
    if support.unique_calendar_names:
        same_name = session.execute(
            select(Calendar).where(
                col(Calendar.profile_id) == profile.id,
                col(Calendar.deleted).is_(False),
                col(Calendar.name) == name,
            )
        ).first()
        if same_name is not None:
            raise _duplicate()
    return profile


def _stored(
    session: Session, profile_id: str, remote: RemoteCalendar, name: str
) -> CreatedCalendar:
    """The calendar row for what the provider created (found again by its provider id)."""
    calendar = session.execute(
        select(Calendar).where(
            col(Calendar.profile_id) == profile_id,
            col(Calendar.provider_calendar_id) == remote.provider_calendar_id,
        )
    ).scalar_one_or_none() or Calendar(
        id=new_id("cal", 16),
        profile_id=profile_id,
        provider_calendar_id=remote.provider_calendar_id,
    )
    calendar.name = remote.name or name
    calendar.readonly = remote.readonly
    calendar.primary = False
    calendar.integrated_conferencing_available = remote.integrated_conferencing_available
    calendar.timezone = remote.timezone
    calendar.deleted = False
    session.add(calendar)
    session.flush()
    profile = session.get(Profile, profile_id)
    assert profile is not None
    return CreatedCalendar(calendar, profile)
