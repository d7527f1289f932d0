"""What the installed conferencing adapters can do, and building them from settings.

syncd never branches on an adapter's name: it asks the registry (the
``syncd.conferencing_providers`` entry points) for the adapter that declares a capability
on the contract (``conferencing_providers.base.ConferencingProvider``), so a third-party
adapter that declares one gets the same treatment as the built-in one:

- ``is_default_fallback``: serves ``profile_id: "default"`` when the account's own choice
  cannot (8x8);
- ``takes_explicit_details``: serves ``profile_id: "explicit"``, writing the caller's join
  details, which it validates (``validate_join_url``) when the API accepts them;
- ``has_remote_meetings``: its meetings exist at the provider, so they are moved with the
  event and deleted with it;
- ``uses_oauth``: a profile needs an authorization.

Meet and Teams are not adapters: they are the Google and Microsoft calendars' own
conferencing (``CALENDAR_BACKED``), asked of the calendar provider.
"""

from __future__ import annotations

from typing import Any

from conferencing_providers.base import ConferencingProvider
from syncd.config import Settings
from syncd.errors import UnknownProvider
from syncd.registry import conferencing_providers, oauth_client
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
        return conferencing_providers()[name]
    except KeyError:
        known = ", ".join(sorted(conferencing_providers())) or "none"
        raise UnknownProvider(f"unknown conferencing provider {name!r} (known: {known})") from None


def adapter_declaring(capability: str) -> type[ConferencingProvider]:
    """The installed adapter that declares ``capability`` (the first by name if several)."""
    for name in sorted(conferencing_providers()):
        adapter: type[ConferencingProvider] = conferencing_providers()[name]
        if getattr(adapter, capability, False):
            return adapter
    raise UnknownProvider(f"no installed conferencing adapter declares {capability}")


def default_fallback_adapter() -> str:
    """The adapter ``profile_id: "default"`` falls back to (8x8 as shipped)."""
    return adapter_declaring("is_default_fallback").name


def explicit_details_adapter() -> str:
    """The adapter that writes a caller's own join details (``profile_id: "explicit"``)."""
    return adapter_declaring("takes_explicit_details").name


def join_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an explicit join URL, or None; the adapter's own rule."""
    return adapter_declaring("takes_explicit_details").validate_join_url(url)


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
