"""Authorizing conferencing services: one code path for the CLI and the HTTP flow.

Zoom and GoTo use their own OAuth clients (requests-oauthlib, ``[zoom]``/``[goto]``);
Meet and Teams are the Google and Microsoft calendar grants (``[google]``/
``[microsoft]``), because syncd only offers them as the calendar's own conferencing.

The HTTP flow carries its context in ``state``: the account, the caller's redirect URI,
the provider and an expiry, encrypted with the store's key (Fernet authenticates it),
so nothing is stored until the provider sends the user back with a code.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any, Protocol, cast

from sqlmodel import Session, select

from providers.base import OAuthClient, ProviderEndpoints, ProviderError
from syncd.conferencing.capabilities import AUTHORIZABLE, CALENDAR_BACKED, oauth_settings_name
from syncd.config import Settings
from syncd.errors import AuthorizationError, SecretBoxError
from syncd.registry import (
    build_provider,
    conferencing_providers,
    oauth_client,
    provider_class,
    provider_endpoints,
)
from syncd.store.crypto import SecretBox
from syncd.store.managed import create_conferencing_profile
from syncd.store.models import Account, ConferencingProfile

#: Seconds an authorization link (its ``state``) stays usable.
STATE_TTL_SECONDS = 900
#: What the daemon's callback is served at; register ``{public URL}`` + this path.
CALLBACK_PATH = "/oauth/conferencing/callback"


class OAuthFlow(Protocol):
    """What both calendar and conferencing adapter classes offer for the code grant."""

    @classmethod
    def authorization_url(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, state: str
    ) -> str: ...

    @classmethod
    def exchange_code(
        cls, oauth_client: OAuthClient, endpoints: ProviderEndpoints, code: str
    ) -> dict[str, Any]: ...

    @classmethod
    def credentials_from_refresh_token(cls, refresh_token: str) -> dict[str, Any]: ...


def flow_class(name: str) -> OAuthFlow:
    """The class that runs ``name``'s code grant."""
    if name not in AUTHORIZABLE:
        raise AuthorizationError(
            f"unknown conferencing service {name!r} (one of {', '.join(AUTHORIZABLE)})"
        )
    if name in CALENDAR_BACKED:
        return cast("OAuthFlow", provider_class(CALENDAR_BACKED[name]))
    return cast("OAuthFlow", conferencing_providers()[name])


def configured(settings: Settings) -> list[str]:
    """Services whose OAuth client the operator configured, in display order."""
    return [
        name for name in AUTHORIZABLE if oauth_client(settings, oauth_settings_name(name)).client_id
    ]


def client_for(settings: Settings, name: str, redirect_uri: str | None = None) -> OAuthClient:
    client = oauth_client(settings, oauth_settings_name(name))
    if not client.client_id:
        section = oauth_settings_name(name)
        raise AuthorizationError(
            f"no OAuth client configured for {name}: set [{section}] client_id and client_secret"
        )
    return dataclasses.replace(client, redirect_uri=redirect_uri) if redirect_uri else client


def endpoints_for(settings: Settings, name: str) -> ProviderEndpoints:
    return provider_endpoints(settings, oauth_settings_name(name))


def authorization_url(
    settings: Settings, name: str, state: str, redirect_uri: str | None = None
) -> str:
    flow = flow_class(name)
    return flow.authorization_url(
        client_for(settings, name, redirect_uri), endpoints_for(settings, name), state
    )


def begin(
    settings: Settings,
    box: SecretBox,
    account: Account,
    name: str,
    return_to: str,
    callback_url: str,
) -> str:
    """The provider URL that starts authorizing ``name`` for ``account``; the callback
    (``callback_url``, this server's ``CALLBACK_PATH``) stores the grant and sends the
    person on to ``return_to`` with ``profile_id`` and ``provider_name`` (or ``error``)."""
    if name not in configured(settings):
        raise AuthorizationError(f"{name!r} is not available on this server")
    state = issue_state(box, account, return_to, name)
    return authorization_url(settings, name, state, callback_url)


def exchange_code(
    settings: Settings, name: str, code: str, redirect_uri: str | None = None
) -> dict[str, Any]:
    """Trade the code for credentials; AuthorizationError when the provider refuses."""
    flow = flow_class(name)
    try:
        return flow.exchange_code(
            client_for(settings, name, redirect_uri), endpoints_for(settings, name), code
        )
    except ProviderError as error:
        raise AuthorizationError(f"{name} refused the authorization code: {error}") from None


def profile_name(
    settings: Settings, name: str, credentials: dict[str, Any], account: Account
) -> str:
    """The connected account's name: the calendar grant's e-mail for Meet and Teams."""
    if name in CALENDAR_BACKED:
        try:
            return build_provider(settings, CALENDAR_BACKED[name], credentials).profile_name()
        except ProviderError:
            pass
    return account.email


def store_profile(
    session: Session,
    box: SecretBox,
    account: Account,
    name: str,
    label: str,
    credentials: dict[str, Any],
) -> ConferencingProfile:
    """Save the grant; authorizing the same service account again refreshes its profile.

    An account's first conferencing service becomes its default (``profile_id:
    "default"``), as the end user just chose it; later ones leave the default alone.
    """
    existing = session.exec(
        select(ConferencingProfile).where(
            ConferencingProfile.account_id == account.id,
            ConferencingProfile.provider == name,
            ConferencingProfile.name == label,
        )
    ).first()
    if existing is not None:
        existing.credentials_encrypted = box.encrypt(credentials)
        existing.status, existing.status_reason = "active", ""
        session.add(existing)
        profile = existing
    else:
        profile = create_conferencing_profile(session, box, account, name, label, credentials)
    if account.default_conferencing_profile_id is None:
        account.default_conferencing_profile_id = profile.id
        session.add(account)
    session.flush()
    return profile


# --------------------------------------------------------------------------- state


@dataclasses.dataclass(frozen=True)
class FlowState:
    """What the callback needs to finish one authorization."""

    account_id: str
    application_id: str
    redirect_uri: str
    provider: str | None
    expires_at: float


def issue_state(
    box: SecretBox,
    account: Account,
    redirect_uri: str,
    provider: str | None,
    ttl: float = STATE_TTL_SECONDS,
) -> str:
    return box.encrypt(
        {
            "a": account.id,
            "app": account.application_id,
            "r": redirect_uri,
            "p": provider,
            "e": time.time() + ttl,
            "n": secrets.token_urlsafe(8),
        }
    )


def read_state(box: SecretBox, token: str) -> FlowState:
    """The state's content; AuthorizationError when forged, garbled or expired."""
    try:
        data = box.decrypt(token)
        state = FlowState(
            account_id=str(data["a"]),
            application_id=str(data["app"]),
            redirect_uri=str(data["r"]),
            provider=data.get("p"),
            expires_at=float(data["e"]),
        )
    except (SecretBoxError, KeyError, TypeError, ValueError):
        raise AuthorizationError("invalid state") from None
    if state.expires_at < time.time():
        raise AuthorizationError("the authorization link has expired")
    return state


def with_provider(box: SecretBox, state: FlowState, provider: str) -> str:
    """A state for the same request with the service the user picked."""
    return box.encrypt(
        {
            "a": state.account_id,
            "app": state.application_id,
            "r": state.redirect_uri,
            "p": provider,
            "e": state.expires_at,
            "n": secrets.token_urlsafe(8),
        }
    )
