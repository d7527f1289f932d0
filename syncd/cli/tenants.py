"""``syncd apps``, ``syncd accounts`` and ``syncd keys``: applications and their API keys,
accounts and their access tokens, and the encryption keys of the store."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlmodel import Session

from syncd.cli.output import JsonOption, err, out, print_json, table
from syncd.cli.runtime import runtime
from syncd.store.crypto import (
    SecretBox,
    count_not_on_newest_key,
    generate_key,
    reencrypt_secrets,
)
from syncd.store.profiles import list_profiles
from syncd.store.tenants import (
    create_account,
    create_application,
    find_account,
    find_application,
    issue_access_token,
    list_accounts,
    list_api_keys,
    revoke_access_tokens,
    revoke_api_key,
    rotate_api_key,
)

apps_app = typer.Typer(
    help="Applications (API clients).", no_args_is_help=True, rich_markup_mode=None
)
accounts_app = typer.Typer(
    help="Accounts (end users, Cronofy `sub`).", no_args_is_help=True, rich_markup_mode=None
)
keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True, rich_markup_mode=None)


# --------------------------------------------------------------------------- apps


@apps_app.command("create")
def apps_create(name: str) -> None:
    """Create an application; prints its API key and webhook secret once."""
    with runtime.session() as session:
        created = create_application(session, runtime.box, name)
    out.print(f"application: {created.application.id}")
    out.print(f"api key:     {created.api_key}")
    out.print(f"webhook secret: {created.webhook_secret}")
    out.print("[yellow]Store the key and secret now: only their hashes/ciphertexts are kept.[/]")


@apps_app.command("keys")
def apps_keys(app_ref: str, as_json: JsonOption = False) -> None:
    """List an application's API keys (ids and dates; keys themselves are never stored)."""
    runtime.require_database()
    with runtime.session() as session:
        application = find_application(session, app_ref)
        rows = [
            {
                "key_id": key.id,
                "created_at": key.created_at.isoformat(),
                "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            }
            for key in list_api_keys(session, application.id)
        ]
    if as_json:
        print_json(rows)
        return
    table(
        f"API keys of {app_ref}",
        ["key_id", "created_at", "revoked_at"],
        [list(row.values()) for row in rows],
    )


@apps_app.command("rotate-key")
def apps_rotate_key(app_ref: str) -> None:
    """Issue a new API key; older keys keep working until `syncd apps revoke-key`."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        row, api_key = rotate_api_key(session, application.id)
        older = [
            key.id
            for key in list_api_keys(session, application.id)
            if key.revoked_at is None and key.id != row.id
        ]
    out.print(f"api key:     {api_key}")
    out.print(f"key id:      {row.id}")
    out.print("[yellow]Store the key now: only its hash is kept.[/]")
    if older:
        ids = ", ".join(str(key_id) for key_id in older)
        out.print(
            f"Older keys still valid: {ids}. Once clients use the new key, run "
            f"`syncd apps revoke-key {app_ref} KEY_ID` for each."
        )


@apps_app.command("revoke-key")
def apps_revoke_key(app_ref: str, key_id: int) -> None:
    """Stop accepting one API key of an application (ids from `syncd apps keys`)."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        revoke_api_key(session, application.id, key_id)
        remaining = [key for key in list_api_keys(session, application.id) if not key.revoked_at]
    out.print(f"revoked API key {key_id} of {application.id}")
    if not remaining:
        err.print(
            f"warning: {application.id} has no valid API key left; "
            f"issue one with `syncd apps rotate-key {app_ref}`"
        )


# --------------------------------------------------------------------------- accounts


@accounts_app.command("create")
def accounts_create(
    app_ref: Annotated[str, typer.Option("--app", help="Application id or name.")],
    email: Annotated[str, typer.Option("--email", help="The account's email address.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone.")] = "Etc/UTC",
) -> None:
    """Create an account; prints its `acc_…` sub."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        account = create_account(session, application.id, email, name, timezone)
    out.print(account.id)


def account_rows(session: Session, application_id: str | None) -> list[dict[str, Any]]:
    return [
        {
            "sub": account.id,
            "application_id": account.application_id,
            "email": account.email,
            "name": account.name,
            "timezone": account.timezone,
            "profiles": len(list_profiles(session, account_id=account.id)),
        }
        for account in list_accounts(session, application_id)
    ]


@accounts_app.command("list")
def accounts_list(
    app_ref: Annotated[str | None, typer.Option("--app", help="Only this application.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List accounts."""
    runtime.require_database()
    with runtime.session() as session:
        application_id = find_application(session, app_ref).id if app_ref else None
        rows = account_rows(session, application_id)
    if as_json:
        print_json(rows)
        return
    table("accounts", list(rows[0]) if rows else ["sub"], [list(row.values()) for row in rows])


@accounts_app.command("token")
def accounts_token(
    account_id: str,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke every token of the account.")
    ] = False,
) -> None:
    """Issue an access token for the account's own API calls (or revoke them all)."""
    with runtime.session() as session:
        account = find_account(session, account_id)
        if revoke:
            count = revoke_access_tokens(session, account.id)
            out.print(f"revoked {count} token(s) of {account.id}")
            return
        token = issue_access_token(session, account.id)
    out.print(token)


# --------------------------------------------------------------------------- keys


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new encryption key for `secret_keys`."""
    out.print(generate_key())


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        str | None,
        typer.Option(
            "--new-key",
            help="Encrypt with this key (then put it first in secret_keys). Default: the "
            "first configured key.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-encrypt every stored credential and secret with the newest key, online.

    Running daemons keep working as long as their secret_keys include the new key;
    docs/operations.md gives the order of steps for a fleet.
    """
    keys = list(runtime.settings.secret_keys)
    if new_key is not None:
        keys = [new_key, *[key for key in keys if key != new_key]]
    box = SecretBox(keys)
    report = reencrypt_secrets(runtime.engine, box)
    left = count_not_on_newest_key(runtime.engine, keys[0])
    summary = {
        "rewritten": report.rewritten,
        "unreadable": report.unreadable,
        "changed_during_rotation": report.raced,
        "not_on_newest_key": left,
    }
    if as_json:
        print_json(summary)
    else:
        table(
            "key rotation",
            ["secret", "re-encrypted", "unreadable", "not on newest key"],
            [
                [name, count, report.unreadable[name], left[name]]
                for name, count in report.rewritten.items()
            ],
        )
    if any(left.values()):
        err.print(
            "some secrets are not encrypted with the newest key (unreadable with every "
            "configured key, or rewritten by a daemon whose newest key is another): make "
            "every daemon's secret_keys start with the new key, then run this again"
        )
        raise typer.Exit(1)
    if not as_json:
        out.print(
            f"{report.total} secrets now use the newest key; older keys can be removed "
            "from secret_keys."
        )
    if new_key is not None and new_key not in runtime.settings.secret_keys:
        err.print(
            f"add the new key first in secret_keys in {runtime.config_file_shown()} now "
            "(and on every daemon, then reload them): without it nothing stored can be "
            "decrypted",
            markup=False,
        )
