"""``syncd profiles``: connecting calendar services to accounts, listing, reauthorizing
and removing them."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, cast

import typer
from sqlmodel import Session

from providers.base import OAuthCalendarProvider
from syncd.cli.output import JsonOption, err, listing, out, print_json
from syncd.cli.runtime import runtime
from syncd.errors import ConfigError, SecretBoxError, UserError
from syncd.oauth_flow import authorize_interactively
from syncd.registry import oauth_client, provider_class
from syncd.registry import provider_endpoints as endpoints_for
from syncd.store.models import Profile, utcnow
from syncd.store.profiles import (
    find_profile,
    list_profiles,
    profile_credentials,
    reauthorize_profile,
)
from syncd.store.tenants import find_account
from syncd.sync import connect
from syncd.sync.connect import server_host
from syncd.sync.push import stop_profile_channels
from syncd.sync.revoke import remove_telling_channels
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


def discover_calendars(provider: str, credentials: dict[str, Any], where: str) -> list[str]:
    """The calendars the credentials reach (:func:`syncd.sync.connect.discover_calendars`,
    which the hosted pages call too)."""
    return connect.discover_calendars(runtime.settings, provider, credentials, where)


def _add_profile(account_id: str, provider: str, credentials: dict[str, Any]) -> Profile:
    with runtime.session() as session:
        account = find_account(session, account_id)
        return connect.add_profile(
            session, runtime.settings, runtime.box, account, provider, credentials
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
    as_json: JsonOption = False,
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
    _print_profile(_add_profile(account_id, "caldav", credentials), as_json)


def _print_profile(profile: Profile, as_json: bool) -> None:
    """What a connect command prints: the new profile's id, or it with its account,
    provider and name as JSON."""
    if as_json:
        print_json(
            {
                "profile_id": profile.id,
                "account_id": profile.account_id,
                "provider": profile.provider,
                "profile_name": profile.name,
            }
        )
    else:
        out.print(profile.id)


def _oauth_credentials(
    provider: str, refresh_token: str | None, quiet_stdout: bool = False
) -> dict[str, Any]:
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
        announce=lambda url: (err if quiet_stdout else out).print(url, soft_wrap=True),
    )


RefreshTokenOption = Annotated[
    str | None,
    typer.Option("--refresh-token", help="Import an existing grant instead of the browser flow."),
]


def _connect_oauth(
    provider: str, account_id: str, refresh_token: str | None, as_json: bool
) -> None:
    with runtime.session() as session:
        find_account(session, account_id)
    credentials = _oauth_credentials(provider, refresh_token, quiet_stdout=as_json)
    _print_profile(_add_profile(account_id, provider, credentials), as_json)


@profiles_connect_app.command("google")
def connect_google(
    account_id: AccountOption,
    refresh_token: RefreshTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect Google Calendar through OAuth (or import a refresh token)."""
    _connect_oauth("google", account_id, refresh_token, as_json)


@profiles_connect_app.command("microsoft")
def connect_microsoft(
    account_id: AccountOption,
    refresh_token: RefreshTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect Microsoft 365 / Outlook through OAuth (or import a refresh token)."""
    _connect_oauth("microsoft", account_id, refresh_token, as_json)


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
    """Remove a profile and everything synced from it (its push channels are stopped;
    the account's notification channels are told)."""
    with runtime.session() as session:
        find_profile(session, profile_id)  # a missing profile fails before anything is stopped
    stop_profile_channels(SyncContext(runtime.engine, runtime.settings, runtime.box), profile_id)
    with runtime.session() as session:
        remove_telling_channels(session, find_profile(session, profile_id))
    out.print(f"removed {profile_id}")
