"""Building conferencing adapters from settings, and which profile an event asks for."""

from __future__ import annotations

from typing import Any

from conferencing_providers.base import ConferencingProvider
from syncd.config import Settings
from syncd.registry import UnknownProvider, conferencing_providers, oauth_client
from syncd.registry import provider_endpoints as endpoints_for

#: ``ConferencingProfile.provider`` values an account can authorize.
AUTHORIZABLE = ("zoom", "goto", "teams", "meet")

#: The calendar provider whose OAuth grant a calendar-backed service uses.
CALENDAR_BACKED = {"meet": "google", "teams": "microsoft"}


def serves_calendar(conferencing_provider: str, calendar_provider: str) -> bool:
    """Meet and Teams exist only as the Google/Microsoft calendar's own conferencing.

    Creating a standalone Meet or Teams meeting for a calendar elsewhere would need APIs
    (Meet REST, Graph onlineMeetings) and grants syncd does not ask for.
    """
    native = CALENDAR_BACKED.get(conferencing_provider)
    return native is None or native == calendar_provider


def not_served_reason(conferencing_provider: str) -> str:
    native = CALENDAR_BACKED[conferencing_provider]
    label = {"meet": "Google Meet", "teams": "Microsoft Teams"}[conferencing_provider]
    return f"{label} can only be added to events in {native} calendars"


def conferencing_provider_class(name: str) -> type[ConferencingProvider]:
    try:
        return conferencing_providers()[name]  # type: ignore[no-any-return]
    except KeyError:
        known = ", ".join(sorted(conferencing_providers())) or "none"
        raise UnknownProvider(f"unknown conferencing provider {name!r} (known: {known})") from None


def oauth_settings_name(name: str) -> str:
    """Meet and Teams use the Google and Microsoft OAuth clients."""
    return CALENDAR_BACKED.get(name, name)


def build_conferencing_provider(
    settings: Settings, name: str, credentials: dict[str, Any]
) -> ConferencingProvider:
    """An adapter for one conferencing profile, pointed at the configured endpoints."""
    section = oauth_settings_name(name)
    return conferencing_provider_class(name)(
        credentials,
        endpoints=endpoints_for(settings, section),
        oauth_client=oauth_client(settings, section),
        timeout=settings.http_timeout,
    )
