"""The hosted flow's steps that connect something: which calendar services to offer, a
CalDAV account checked live, a provider's OAuth round trip, and where the browser goes
once a profile is stored (the application, with a code, or the person's own pages).

Everything that touches a provider goes through :mod:`syncd.sync.connect`, the code path
the CLI uses too. Provider calls happen before the write transaction opens, so a slow
server never holds the store's write lock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from providers.base import ProviderError
from syncd.authorization.flow import (
    AUTHORIZE,
    RELINK,
    Flow,
    approved,
    check_account,
)
from syncd.config import Settings
from syncd.errors import AuthorizationError, NotFoundError, SecretBoxError, UserError
from syncd.registry import oauth_client, provider_class
from syncd.store.crypto import SecretBox
from syncd.store.db import read_only, session_scope
from syncd.store.models import Account, Application, Profile
from syncd.store.profiles import find_profile, list_profiles, profile_credentials
from syncd.sync import connect


@dataclass(frozen=True)
class Service:
    """A calendar service a person may pick."""

    key: str
    label: str
    provider: str
    #: The fixed CalDAV server of a hosted service (iCloud, Fastmail), else "".
    url: str = ""

    @property
    def uses_oauth(self) -> bool:
        return provider_class(self.provider).uses_oauth


def service(key: str) -> Service:
    """The service ``key`` names; an unknown one is a 404 (it came from a URL)."""
    try:
        return Service(*connect.service(key))
    except UserError:
        raise NotFoundError(f"there is no calendar service called {key!r}") from None


def offered_services(settings: Settings, hint: str = "") -> list[Service]:
    """The services this server can connect, the application's ``provider_name`` hint
    first; OAuth services only when the operator configured their client."""
    offered = [
        entry
        for entry in (Service(*row) for row in connect.SERVICES)
        if not entry.uses_oauth or oauth_client(settings, entry.provider).client_id
    ]
    wanted = connect.PROVIDER_HINTS.get(hint)
    return sorted(offered, key=lambda entry: entry.key != wanted)


def account_has_profiles(engine: Engine, account_id: str) -> bool:
    with session_scope(read_only(engine)) as session:
        return bool(list_profiles(session, account_id=account_id))


def relinked_profile(engine: Engine, flow: Flow) -> Profile:
    """The profile a relink flow reconnects (it must still be the account's)."""
    if flow.purpose != RELINK or flow.profile_id is None:
        raise AuthorizationError("this link does not reconnect a calendar service")
    with session_scope(read_only(engine)) as session:
        profile = find_profile(session, flow.profile_id, flow.application_id)
    if profile.account_id != flow.account_id:
        raise NotFoundError(f"no profile {flow.profile_id!r}")
    return profile


def relink_service(engine: Engine, box: SecretBox, flow: Flow) -> tuple[Service, dict[str, str]]:
    """Which service a relink flow goes through, and (CalDAV) the server address and
    username to show again; a revoked profile's credentials are gone, so nothing then."""
    profile = relinked_profile(engine, flow)
    if provider_class(profile.provider).uses_oauth:
        return service(profile.provider), {}
    try:
        old = profile_credentials(box, profile)
    except SecretBoxError:  # a key that is gone: ask for everything again
        old = {}
    known = {name: str(old[name]) for name in ("url", "username") if old.get(name)}
    return service("caldav"), known


def connect_caldav(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    flow: Flow,
    account: Account,
    chosen: Service,
    url: str,
    username: str,
    password: str,
) -> Profile:
    """A CalDAV account from the credentials form: the address held to the public-server
    rule (and, unless allow-listed, every later connection to public addresses), the
    password checked against the server, and only then stored."""
    check_account(flow, account)
    if chosen.uses_oauth:
        raise NotFoundError(f"{chosen.label} is not connected with a password")
    credentials = connect.user_caldav_credentials(
        chosen.url or url, username.strip(), password, settings
    )
    if not username.strip():
        raise UserError("Username: enter the name you sign in to the server with.")
    if not password:
        raise UserError("Password: enter the password (or app-specific password).")
    connect.verify_caldav(settings, credentials, connect.server_host(credentials["url"]))
    return _store(engine, settings, box, flow, account, "caldav", credentials)


def begin_oauth(
    settings: Settings, box: SecretBox, flow: Flow, account: Account, chosen: Service, callback: str
) -> str:
    """The provider's consent page; it sends the person back to ``callback`` with this
    flow (and the service) in ``state``."""
    check_account(flow, account)
    if not chosen.uses_oauth:
        raise NotFoundError(f"{chosen.label} is not connected through OAuth")
    state = dataclasses.replace(flow, service=chosen.key).seal(box)
    return connect.authorization_url(settings, chosen.provider, state, callback)


def finish_oauth(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    flow: Flow,
    account: Account,
    code: str,
    callback: str,
) -> Profile:
    """The provider sent a code back: trade it for credentials and store them."""
    check_account(flow, account)
    chosen = service(flow.service)
    try:
        credentials = connect.exchange_code(settings, chosen.provider, code, callback)
    except ProviderError as error:
        raise UserError(
            f"{chosen.label} could not be reached: {error}", code="unreachable"
        ) from None
    return _store(engine, settings, box, flow, account, chosen.provider, credentials)


def _store(
    engine: Engine,
    settings: Settings,
    box: SecretBox,
    flow: Flow,
    account: Account,
    provider: str,
    credentials: dict[str, Any],
) -> Profile:
    if flow.purpose == RELINK:
        profile = relinked_profile(engine, flow)
        if profile.provider != provider:
            raise UserError(f"this calendar service is a {profile.provider} one")
        with session_scope(engine) as session:
            return connect.relink_profile(session, settings, box, profile, credentials)
    with session_scope(engine) as session:
        return connect.add_profile(session, settings, box, account, provider, credentials)


def destination(engine: Engine, flow: Flow, account: Account, profile_id: str | None) -> str | None:
    """Where an authorize flow ends: the application's redirect URI with a one-time code
    (and ``state``). None for the person's own flows (the pages say where)."""
    if flow.purpose != AUTHORIZE:
        return None
    with session_scope(engine) as session:
        application = session.get(Application, flow.application_id)
        if application is None:
            raise AuthorizationError("the application that sent you here no longer exists")
        return approved(session, flow, application, account, profile_id)
