"""Finds adapters through entry points, so third parties can add providers without edits."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from providers.base import CalendarProvider, OAuthClient, ProviderEndpoints
from syncd.config import OAuthProviderSettings, Settings
from syncd.errors import UnknownProvider

__all__ = [
    "build_provider",
    "calendar_providers",
    "conferencing_providers",
    "load_adapters",
    "oauth_client",
    "provider_class",
    "provider_endpoints",
]


@cache
def calendar_providers() -> dict[str, type[CalendarProvider]]:
    return {point.name: point.load() for point in entry_points(group="syncd.providers")}


@cache
def conferencing_providers() -> dict[str, type[Any]]:
    return {
        point.name: point.load() for point in entry_points(group="syncd.conferencing_providers")
    }


def load_adapters() -> None:
    """Import every adapter now, at start-up: loaded on first use instead, the first
    event upsert after a restart imported them all (~0.5 s of CPU) inside its write
    transaction, holding SQLite's write lock while a burst queued behind it."""
    calendar_providers()
    conferencing_providers()


def provider_class(name: str) -> type[CalendarProvider]:
    try:
        return calendar_providers()[name]
    except KeyError:
        known = ", ".join(sorted(calendar_providers())) or "none"
        raise UnknownProvider(f"unknown provider {name!r} (known: {known})") from None


def _oauth_settings(settings: Settings, name: str) -> OAuthProviderSettings | None:
    value = getattr(settings, name, None)
    return value if isinstance(value, OAuthProviderSettings) else None


def provider_endpoints(settings: Settings, name: str) -> ProviderEndpoints:
    oauth = _oauth_settings(settings, name)
    if oauth is None:
        return ProviderEndpoints()
    return ProviderEndpoints(oauth.api_base_url, oauth.token_url, oauth.authorize_url)


def oauth_client(settings: Settings, name: str) -> OAuthClient:
    oauth = _oauth_settings(settings, name)
    if oauth is None:
        return OAuthClient()
    return OAuthClient(oauth.client_id, oauth.client_secret, oauth.redirect_uri)


def build_provider(settings: Settings, name: str, credentials: dict[str, Any]) -> CalendarProvider:
    """An adapter for one profile, pointed at the configured endpoints."""
    return provider_class(name)(
        credentials,
        endpoints=provider_endpoints(settings, name),
        oauth_client=oauth_client(settings, name),
        timeout=settings.http_timeout,
    )
