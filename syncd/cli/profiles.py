"""``syncd profiles``: connecting calendar services to accounts, listing, reauthorizing
and removing them."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

import typer
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
from syncd.cli.output import JsonOption, err, listing, out
from syncd.cli.runtime import runtime
from syncd.errors import ConfigError, SecretBoxError, UserError
from syncd.oauth_flow import authorize_interactively
from syncd.registry import build_provider, oauth_client, provider_class
from syncd.registry import provider_endpoints as endpoints_for
from syncd.store.models import Profile, utcnow
from syncd.store.profiles import (
    create_profile,
    find_profile,
    list_profiles,
    profile_credentials,
    reauthorize_profile,
    remove_profile,
)
from syncd.store.tenants import find_account
from syncd.sync.push import stop_profile_channels
from syncd.sync.run import SyncContext
from syncd.sync.status import effective_status

AccountOption = Annotated[
    str, typer.Option("--account", help="The account (acc_…) the profile belongs to.")
]

profiles_app = typer.Typer(
    help="Connected calendar services.", no_args_is_help=True, rich_markup_mode=None
)

profiles_connect_app = typer.Typer(
    help="Connect a calendar service to an account.", no_args_is_help=True, rich_markup_mode=None
)
profiles_app.add_typer(profiles_connect_app, name="connect")


def _adapter(provider: str, credentials: dict[str, Any]) -> CalendarProvider:
    try:
        return build_provider(runtime.settings, provider, credentials)
    except ValueError as error:  # how an adapter (it cannot import syncd) refuses credentials
        raise UserError(str(error), code="invalid_credentials") from None


def discover_calendars(provider: str, credentials: dict[str, Any], where: str) -> list[str]:
    """The calendars the credentials reach, through the adapter's own discovery; one clear
    error per way it can fail (unreachable, refused, not that kind of server)."""
    adapter = _adapter(provider, credentials)
    adapter.retry_attempts = 1  # the operator is waiting: no backoff, say what happened
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


def server_host(url: str) -> str:
    return urlsplit(url).hostname or url


def _add_profile(account_id: str, provider: str, credentials: dict[str, Any]) -> Profile:
    adapter = _adapter(provider, credentials)
    name = adapter.profile_name()
    with runtime.session() as session:
        account = find_account(session, account_id)
        refreshed = adapter.refreshed_credentials()
        return create_profile(
            session,
            runtime.box,
            account,
            provider,
            name,
            refreshed or credentials,
            adapter.service_identity(),
        )


#: Environment variable a CalDAV password may come from (kept out of the process list).
CALDAV_PASSWORD_ENV = "SYNCD_CALDAV_PASSWORD"


def caldav_password(given: str | None, from_stdin: bool) -> str:
    """The CalDAV password: stdin's first line, ``--password``, the environment, or a
    hidden prompt, in that order."""
    if from_stdin:
        if given is not None:
            raise UserError("give either --password or --password-stdin, not both")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: no password on stdin")
        return password
    if given is not None:
        return given
    from_env = os.environ.get(CALDAV_PASSWORD_ENV)
    if from_env:
        return from_env
    return cast(str, typer.prompt("Password", hide_input=True))


@profiles_connect_app.command("caldav")
def connect_caldav(
    account_id: AccountOption,
    url: Annotated[str, typer.Option("--url", help="Server, principal or calendar URL.")],
    username: Annotated[str, typer.Option("--username", help="The CalDAV login.")],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            show_default=False,
            help=(
                "The password; asked for (hidden) when left out. On the command line it "
                f"is visible in the process list: prefer the prompt, --password-stdin or "
                f"{CALDAV_PASSWORD_ENV}."
            ),
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify", help="Save without contacting the server (set-up while offline)."
        ),
    ] = False,
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help=(
                "The account's e-mail address, when the username is not one: the ORGANIZER "
                "of events written with attendees, and how its own replies are recognised."
            ),
        ),
    ] = None,
) -> None:
    """Connect a CalDAV account (iCloud, Fastmail, Nextcloud, Radicale, …).

    The password comes from --password-stdin, --password, the SYNCD_CALDAV_PASSWORD
    environment variable, or else a hidden prompt. The server is asked for the account's
    calendars first: nothing is saved when it cannot be reached, refuses the password or
    does not speak CalDAV.
    """
    password = caldav_password(password, password_stdin)
    with runtime.session() as session:
        find_account(session, account_id)
    credentials = {"url": url, "username": username, "password": password}
    if email:
        credentials["email"] = email
    if not no_verify:
        found = discover_calendars("caldav", credentials, url)
        err.print(
            f"{server_host(url)}: {len(found)} calendar(s): {', '.join(found) or 'none yet'}",
            markup=False,
        )
    profile = _add_profile(account_id, "caldav", credentials)
    out.print(profile.id)


def _oauth_credentials(provider: str, refresh_token: str | None) -> dict[str, Any]:
    # Only OAuth providers get here (google, microsoft, or `uses_oauth` on reauthorize).
    cls = cast("type[OAuthCalendarProvider]", provider_class(provider))
    if refresh_token:
        return cls.credentials_from_refresh_token(refresh_token)
    settings = runtime.settings
    client = oauth_client(settings, provider)
    if not client.client_id:
        raise ConfigError(
            f"no OAuth client configured for {provider}: "
            f"set [{provider}] client_id and client_secret"
        )
    err.print(f"Open this URL to authorize {provider} access (waiting for the redirect):")
    return authorize_interactively(
        cls,
        client,
        endpoints_for(settings, provider),
        announce=lambda url: out.print(url, soft_wrap=True),
    )


RefreshTokenOption = Annotated[
    str | None,
    typer.Option("--refresh-token", help="Import an existing grant instead of the browser flow."),
]


def _connect_oauth(provider: str, account_id: str, refresh_token: str | None) -> None:
    with runtime.session() as session:
        find_account(session, account_id)
    profile = _add_profile(account_id, provider, _oauth_credentials(provider, refresh_token))
    out.print(profile.id)


@profiles_connect_app.command("google")
def connect_google(
    account_id: AccountOption,
    refresh_token: RefreshTokenOption = None,
) -> None:
    """Connect Google Calendar through OAuth (or import a refresh token)."""
    _connect_oauth("google", account_id, refresh_token)


@profiles_connect_app.command("microsoft")
def connect_microsoft(
    account_id: AccountOption,
    refresh_token: RefreshTokenOption = None,
) -> None:
    """Connect Microsoft 365 / Outlook through OAuth (or import a refresh token)."""
    _connect_oauth("microsoft", account_id, refresh_token)


def _server_of(profile: Profile) -> str | None:
    """The host of a profile whose credentials name a server URL (CalDAV), else None."""
    try:
        url = profile_credentials(runtime.box, profile).get("url")
    except SecretBoxError:
        return "(credentials cannot be decrypted)"
    return server_host(str(url)) if url else None


def profile_rows(session: Session, account_id: str | None) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for profile in list_profiles(session, account_id=account_id):
        current = effective_status(profile, now, runtime.settings.staleness_bound)
        rows.append(
            {
                "profile_id": profile.id,
                "account_id": profile.account_id,
                "provider": profile.provider,
                "profile_name": profile.name,
                "server": _server_of(profile),
                "sync_status": current.sync_status,
                "reason": current.reason,
                "last_success": profile.last_success_at.isoformat()
                if profile.last_success_at
                else None,
            }
        )
    return rows


@profiles_app.command("list")
def profiles_list(
    account_id: Annotated[
        str | None, typer.Option("--account", help="Only this account (acc_…).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List profiles with their sync_status, reason and last success."""
    runtime.require_database()
    with runtime.session() as session:
        if account_id:
            find_account(session, account_id)
        rows = profile_rows(session, account_id)
    columns = [
        "profile_id",
        "account_id",
        "provider",
        "profile_name",
        "server",
        "sync_status",
        "reason",
        "last_success",
    ]
    listing("profiles", columns, rows, as_json)


@profiles_app.command("reauthorize")
def profiles_reauthorize(
    profile_id: str,
    refresh_token: Annotated[
        str | None, typer.Option("--refresh-token", help="Google/Microsoft: import this grant.")
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="CalDAV: the new password.")
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", help="CalDAV: a new username.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="CalDAV: a new server URL.")] = None,
) -> None:
    """Authorize a profile again; it is pending until its next successful sync."""
    with runtime.session() as session:
        profile = find_profile(session, profile_id)
        provider = profile.provider
        old = profile_credentials(runtime.box, profile)
    if provider_class(provider).uses_oauth:
        credentials = _oauth_credentials(provider, refresh_token)
    else:
        if password is None:
            password = typer.prompt("password", hide_input=True)
        changed = {"username": username, "url": url}
        credentials = {
            **old,
            "password": password,
            **{key: value for key, value in changed.items() if value},
        }
    with runtime.session() as session:
        reauthorize_profile(session, runtime.box, find_profile(session, profile_id), credentials)
    out.print(f"{profile_id} reauthorized: pending until its next successful sync")


@profiles_app.command("remove")
def profiles_remove(profile_id: str) -> None:
    """Remove a profile and everything synced from it (its push channels are stopped)."""
    with runtime.session() as session:
        find_profile(session, profile_id)  # a missing profile fails before anything is stopped
    stop_profile_channels(SyncContext(runtime.engine, runtime.settings, runtime.box), profile_id)
    with runtime.session() as session:
        remove_profile(session, find_profile(session, profile_id))
    out.print(f"removed {profile_id}")
