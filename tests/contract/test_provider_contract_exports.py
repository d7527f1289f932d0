"""The adapter contract's public names: changing them breaks third-party adapters.

Adding a name is fine (update the list here on purpose); renaming or dropping one is a
breaking change for every adapter installed through the ``syncd.providers`` entry points.
"""

from __future__ import annotations

import providers.base
import providers.errors

ERRORS = {
    "AlreadyExists",
    "AuthRevoked",
    "CursorExpired",
    "InvalidRemoteData",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "Unsupported",
    "UntrustedHost",
}

CONTRACT = ERRORS | {
    "Attendee",
    "CalendarProvider",
    "ChangePage",
    "Conferencing",
    "EventStatus",
    "EventWriteSupport",
    "Geo",
    "OAuthCalendarProvider",
    "OAuthClient",
    "Organizer",
    "ParticipationStatus",
    "ProviderEndpoints",
    "PushCallback",
    "PushNotification",
    "PushRequest",
    "PushWatch",
    "RECURRENCE_FREQUENCIES",
    "RemoteCalendar",
    "RemoteEvent",
    "ServiceIdentity",
    "Transparency",
    "geo_or_none",
    "own_participation",
}


def test_providers_base_exports_exactly_the_contract() -> None:
    assert set(providers.base.__all__) == CONTRACT
    assert len(providers.base.__all__) == len(CONTRACT)  # no name listed twice


def test_every_exported_name_exists() -> None:
    missing = [name for name in providers.base.__all__ if not hasattr(providers.base, name)]

    assert missing == []


def test_the_error_names_are_the_errors_module_s_own() -> None:
    assert set(providers.errors.__all__) == ERRORS
    for name in ERRORS:
        assert getattr(providers.base, name) is getattr(providers.errors, name)


def test_every_error_is_a_provider_error() -> None:
    for name in ERRORS:
        assert issubclass(getattr(providers.errors, name), providers.errors.ProviderError)
