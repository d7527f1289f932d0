"""Connecting a calendar service to an account: one code path for the CLI
(``syncd profiles connect …``) and the hosted pages (``/oauth/authorize``, "add another",
relinking a profile).

- CalDAV credentials are checked live by asking the server for the account's calendars
  (:func:`verify_caldav`): nothing is saved when the server cannot be reached, refuses
  the password or does not speak CalDAV, and the person is told which.
- OAuth providers (Google, Microsoft) go through the adapter's own authorization URL and
  code exchange (:func:`authorization_url`, :func:`exchange_code`), the same calls the
  CLI's local callback makes, with the redirect URI of whoever catches the code.
- :func:`add_profile` / :func:`relink_profile` store the result (credentials encrypted).

A CalDAV URL typed by an end user is requested by the server, so it is held to the
webhook rule (:func:`check_user_server_url`): https to public addresses, unless the
operator allow-lists the host in ``caldav_allowed_hosts``; build such credentials with
:func:`user_caldav_credentials`, which also holds every later connection to public
addresses (no DNS rebinding after the check).
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast
from urllib.parse import urlsplit

from sqlmodel import Session

from providers.base import (
    AuthRevoked,
    CalendarProvider,
    InvalidRemoteData,
    NotFound,
    OAuthCalendarProvider,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unsupported,
)
from syncd.config import Settings
from syncd.errors import AuthorizationError, ConfigError, SecretBoxError, UserError
from syncd.notify.urls import host_is_allowed, host_is_public
from syncd.registry import build_provider, oauth_client, provider_class, provider_endpoints
from syncd.store.crypto import SecretBox
from syncd.store.models import Account, Profile
from syncd.store.profiles import create_profile, profile_credentials, reauthorize_profile

#: Calendar services offered to people, in display order: (key, label, provider, CalDAV URL).
SERVICES: tuple[tuple[str, str, str, str], ...] = (
    ("google", "Google", "google", ""),
    ("microsoft", "Microsoft 365 / Outlook.com", "microsoft", ""),
    ("icloud", "iCloud", "caldav", "https://caldav.icloud.com/"),
    ("fastmail", "Fastmail", "caldav", "https://caldav.fastmail.com/"),
    ("nextcloud", "Nextcloud", "caldav", ""),
    ("caldav", "Another CalDAV server", "caldav", ""),
)
#: Cronofy's ``provider_name`` hints → our service keys.
PROVIDER_HINTS = {
    "google": "google",
    "office365": "microsoft",
    "live_connect": "microsoft",
    "exchange": "microsoft",
    "microsoft": "microsoft",
    "apple": "icloud",
    "icloud": "icloud",
    "fastmail": "fastmail",
    "nextcloud": "nextcloud",
    "caldav": "caldav",
}


def service(key: str) -> tuple[str, str, str, str]:
    for entry in SERVICES:
        if entry[0] == key:
            return entry
    raise UserError(f"unknown calendar service {key!r}", code="unknown_service")


def _adapter(settings: Settings, provider: str, credentials: dict[str, Any]) -> CalendarProvider:
    try:
        return build_provider(settings, provider, credentials)
    except ValueError as error:  # how an adapter (it cannot import syncd) refuses credentials
        raise UserError(str(error), code="invalid_credentials") from None


def server_host(url: str) -> str:
    return urlsplit(url).hostname or url


def verify_caldav(settings: Settings, credentials: dict[str, Any], where: str) -> list[str]:
    """The calendars the credentials reach, through the adapter's own discovery; one clear
    error per way it can fail (unreachable, refused, not that kind of server)."""
    return discover_calendars(settings, "caldav", credentials, where)


def discover_calendars(
    settings: Settings, provider: str, credentials: dict[str, Any], where: str
) -> list[str]:
    """As :func:`verify_caldav`, for any provider's credentials."""
    adapter = _adapter(settings, provider, credentials)
    adapter.retry_attempts = 1  # someone is waiting: no backoff, say what happened
    try:
        return [calendar.name for calendar in adapter.list_calendars()]
    except AuthRevoked:
        raise UserError(
            f"{where} refused the username or password", code="invalid_credentials"
        ) from None
    except (TransientError, RateLimited) as error:
        raise UserError(f"cannot reach {where}: {error}", code="unreachable") from None
    except (NotFound, Unsupported, InvalidRemoteData, PermissionDenied) as error:
        raise UserError(
            f"{where} is not a usable {provider} server: {error}", code="wrong_server"
        ) from None
    except ProviderError as error:
        raise UserError(f"{where}: {error}", code="wrong_server") from None


def check_user_server_url(url: str, settings: Settings) -> str:
    """A CalDAV URL an end user typed, if syncd may request it: https to a host whose
    every address is public, or a host in ``caldav_allowed_hosts``."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        raise _bad_url("that is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise _bad_url("enter the server's address, starting with https://")
    if host_is_allowed(host, settings.caldav_allowed_hosts):
        return url
    if parts.scheme != "https":
        raise _bad_url("the address must start with https://")
    try:
        public = host_is_public(host, port or 443)
    except ValueError:
        raise _bad_url(f"there is no server called {host}") from None
    if not public:
        raise _bad_url(f"{host} is not a public server")
    return url


#: The CalDAV adapter's credentials flag (``providers.caldav.pinning``): every connection
#: resolves the host once and goes only to public addresses, so a name that answers
#: differently after :func:`check_user_server_url` (DNS rebinding) reaches nothing private.
PUBLIC_ADDRESSES_ONLY = "public_addresses_only"


def user_caldav_credentials(
    url: str, username: str, password: str, settings: Settings
) -> dict[str, Any]:
    """Credentials for a CalDAV server an end user named: the URL checked as
    :func:`check_user_server_url` says, and held to public addresses at every connect
    unless the operator allow-listed its host."""
    checked = check_user_server_url(url, settings)
    credentials: dict[str, Any] = {"url": checked, "username": username, "password": password}
    host = (urlsplit(checked).hostname or "").rstrip(".")
    if not host_is_allowed(host, settings.caldav_allowed_hosts):
        credentials[PUBLIC_ADDRESSES_ONLY] = True
    return credentials


def _bad_url(why: str) -> UserError:
    return UserError(f"Server address: {why}.", code="invalid_url")


def add_profile(
    session: Session,
    settings: Settings,
    box: SecretBox,
    account: Account,
    provider: str,
    credentials: dict[str, Any],
) -> Profile:
    """A new profile for verified (or just granted) credentials, named as the adapter
    names the account, due for its first sync at once."""
    adapter = _adapter(settings, provider, credentials)
    name = adapter.profile_name()
    refreshed = adapter.refreshed_credentials()
    return create_profile(
        session, box, account, provider, name, refreshed or credentials, adapter.service_identity()
    )


def relink_profile(
    session: Session,
    settings: Settings,
    box: SecretBox,
    profile: Profile,
    credentials: dict[str, Any],
) -> Profile:
    """New credentials for a profile (reconnecting it): pending until its next sync.

    Only for the same account at the provider: credentials for another one (a different
    Google or Microsoft account chosen on the consent screen, another CalDAV user or
    server) would silently swap whose calendars the profile holds, under the same id the
    application already knows. That is refused, naming the account to reconnect.
    """
    adapter = _adapter(settings, profile.provider, credentials)
    name = adapter.profile_name()
    _require_same_account(box, profile, name, credentials)
    profile.name = name or profile.name
    reauthorize_profile(session, box, profile, adapter.refreshed_credentials() or credentials)
    return profile


def _require_same_account(
    box: SecretBox, profile: Profile, name: str, credentials: dict[str, Any]
) -> None:
    different = bool(name and profile.name) and name.casefold() != profile.name.casefold()
    if not different and profile.provider == "caldav":
        try:
            stored_url = str(profile_credentials(box, profile).get("url") or "")
        except SecretBoxError:  # the old key is gone: the name is all there is to compare
            stored_url = ""
        new_url = str(credentials.get("url") or "")
        different = bool(stored_url) and server_host(stored_url) != server_host(new_url)
    if different:
        raise UserError(
            f"That is a different account ({name}). To reconnect this calendar service, "
            f"sign in as {profile.name}; to add {name}, add another calendar service.",
            code="different_account",
        )


def oauth_flow(settings: Settings, provider: str) -> type[OAuthCalendarProvider]:
    cls = provider_class(provider)
    if not cls.uses_oauth:
        raise AuthorizationError(f"{provider} does not use OAuth")
    if not oauth_client(settings, provider).client_id:
        raise ConfigError(
            f"no OAuth client configured for {provider}: "
            f"set [{provider}] client_id and client_secret"
        )
    return cast("type[OAuthCalendarProvider]", cls)


def authorization_url(settings: Settings, provider: str, state: str, redirect_uri: str) -> str:
    """Where to send the person to grant ``provider`` access; it comes back to
    ``redirect_uri`` (the hosted callback) with a code and ``state``."""
    client = dataclasses.replace(oauth_client(settings, provider), redirect_uri=redirect_uri)
    return oauth_flow(settings, provider).authorization_url(
        client, provider_endpoints(settings, provider), state
    )


def exchange_code(
    settings: Settings, provider: str, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Credentials for the code the provider sent back to ``redirect_uri``."""
    client = dataclasses.replace(oauth_client(settings, provider), redirect_uri=redirect_uri)
    try:
        return oauth_flow(settings, provider).exchange_code(
            client, provider_endpoints(settings, provider), code
        )
    except AuthRevoked as error:
        raise AuthorizationError(f"the provider refused the code: {error}") from None
