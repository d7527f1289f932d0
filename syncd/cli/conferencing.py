"""``syncd conferencing``: authorizing conferencing services for accounts, choosing each
account's default, listing and removing them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlmodel import Session

from syncd.cli.output import JsonOption, err, listing, out, print_json
from syncd.cli.runtime import runtime
from syncd.conferencing import authorize
from syncd.oauth_flow import authorize_interactively
from syncd.store.fleet import conferencing_profiles_with_default_flag
from syncd.store.managed import (
    find_conferencing_profile,
    remove_conferencing_profile,
    set_default_conferencing,
)
from syncd.store.tenants import find_account

conferencing_app = typer.Typer(
    help="Conferencing services (Zoom, GoTo Meeting, Teams, Google Meet).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@conferencing_app.command("connect")
def conferencing_connect(
    provider: Annotated[str, typer.Argument(help="zoom, goto, teams or meet")],
    account_id: Annotated[str, typer.Option("--account", help="The account (acc_…).")],
    refresh_token: Annotated[
        str | None,
        typer.Option(
            "--refresh-token", help="Import an existing grant instead of the browser flow."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Authorize a conferencing service for an account (OAuth in the browser)."""
    settings = runtime.settings
    flow = authorize.flow_class(provider)
    with runtime.session() as session:
        find_account(session, account_id)
    if refresh_token:
        credentials = flow.credentials_from_refresh_token(refresh_token)
    else:
        client = authorize.client_for(settings, provider)
        err.print(f"Open this URL to authorize {provider} (waiting for the redirect):")
        credentials = authorize_interactively(
            flow,  # type: ignore[arg-type]
            client,
            authorize.endpoints_for(settings, provider),
            # with --json, stdout carries only the JSON: the URL goes to stderr
            announce=lambda url: (err if as_json else out).print(url, soft_wrap=True),
        )
    with runtime.session() as session:
        account = find_account(session, account_id)
        label = authorize.profile_name(settings, provider, credentials, account)
        profile = authorize.store_profile(
            session, runtime.box, account, provider, label, credentials
        )
        shown = {"profile_id": profile.id, "account_id": account.id, "provider": provider}
    if as_json:
        print_json({**shown, "profile_name": label})
    else:
        out.print(shown["profile_id"])


def conferencing_rows(session: Session, account_id: str | None) -> list[dict[str, Any]]:
    rows = []
    for profile, is_default in conferencing_profiles_with_default_flag(session, account_id):
        rows.append(
            {
                "profile_id": profile.id,
                "account_id": profile.account_id,
                "provider": profile.provider,
                "profile_name": profile.name,
                "status": profile.status,
                "reason": profile.status_reason,
                "default": is_default,
            }
        )
    return rows


@conferencing_app.command("list")
def conferencing_list(
    account_id: Annotated[
        str | None, typer.Option("--account", help="Only this account (acc_…).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List conferencing profiles, their status and which one is each account's default."""
    runtime.require_database()
    with runtime.session() as session:
        if account_id:
            find_account(session, account_id)
        rows = conferencing_rows(session, account_id)
    columns = ["profile_id", "account_id", "provider", "profile_name", "status", "default"]
    listing("conferencing profiles", columns, rows, as_json)


@conferencing_app.command("default")
def conferencing_default(
    account_id: str,
    profile_id: Annotated[str, typer.Argument(help='A pro_… id, or "8x8" for the built-in rooms')],
) -> None:
    """Choose the service `conferencing: {"profile_id": "default"}` uses for an account."""
    with runtime.session() as session:
        account = find_account(session, account_id)
        chosen = None if profile_id.lower() in ("8x8", "none") else profile_id
        set_default_conferencing(session, account, chosen)
    out.print(f"{account_id}: default conferencing is {chosen or '8x8'}")


@conferencing_app.command("remove")
def conferencing_remove(profile_id: str) -> None:
    """Forget a conferencing profile (its existing meetings are left in place)."""
    with runtime.session() as session:
        remove_conferencing_profile(session, find_conferencing_profile(session, profile_id))
    out.print(f"removed {profile_id}")
