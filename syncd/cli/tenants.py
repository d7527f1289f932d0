"""``syncd apps``, ``syncd accounts`` and ``syncd keys``: applications and their API keys,
accounts and their access tokens, and the encryption keys of the store."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlmodel import Session

from syncd.cli.output import JsonOption, err, listing, out, print_json, table
from syncd.cli.runtime import runtime
from syncd.errors import UserError
from syncd.store.crypto import (
    SecretBox,
    count_not_on_newest_key,
    generate_key,
    reencrypt_secrets,
)
from syncd.store.models import Application
from syncd.store.oauth import revoke_account_authorizations
from syncd.store.profiles import list_profiles
from syncd.store.tenants import (
    SIGN_WITH_CLIENT_SECRET,
    create_account,
    create_application,
    find_account,
    find_application,
    issue_access_token,
    list_accounts,
    list_api_keys,
    list_applications,
    revoke_access_tokens,
    revoke_api_key,
    rotate_api_key,
    set_redirect_uris,
    set_webhook_signing,
)

apps_app = typer.Typer(
    help="Applications (API clients).", no_args_is_help=True, rich_markup_mode=None
)
accounts_app = typer.Typer(
    help="Accounts (end users, Cronofy `sub`).", no_args_is_help=True, rich_markup_mode=None
)
keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True, rich_markup_mode=None)


# --------------------------------------------------------------------------- apps


RedirectUriOption = Annotated[
    list[str] | None,
    typer.Option(
        "--redirect-uri",
        help="A redirect URI /oauth/authorize accepts (exact match); repeat for several.",
    ),
]


def _app_row(session: Session, application: Application) -> dict[str, Any]:
    return {
        "application_id": application.id,
        "name": application.name,
        "client_id": application.client_id,
        "redirect_uris": list(application.redirect_uris),
        "webhook_signing": application.webhook_signing,
        "api_keys": len([k for k in list_api_keys(session, application.id) if not k.revoked_at]),
    }


@apps_app.command("create")
def apps_create(
    name: str,
    redirect_uris: RedirectUriOption = None,
    webhook_signing: Annotated[
        str,
        typer.Option(
            "--webhook-signing",
            help="What signs webhooks: client_secret (as Cronofy does) or webhook_secret.",
        ),
    ] = SIGN_WITH_CLIENT_SECRET,
    as_json: JsonOption = False,
) -> None:
    """Create an application; prints its client_id, client_secret (its API key) and
    webhook secret once."""
    with runtime.session() as session:
        created = create_application(
            session, runtime.box, name, redirect_uris or [], webhook_signing
        )
        application = created.application
        shown = {
            "application_id": application.id,
            "name": application.name,
            "client_id": application.client_id,
            "client_secret": created.client_secret,
            "webhook_secret": created.webhook_secret,
            "redirect_uris": list(application.redirect_uris),
            "webhook_signing": application.webhook_signing,
        }
    if as_json:
        print_json(shown)
        return
    out.print(f"application:    {application.id}")
    out.print(f"client id:      {shown['client_id']}")
    out.print(f"client secret:  {created.client_secret}")
    out.print("(the client secret is also the application's API key)")
    out.print(f"webhook secret: {created.webhook_secret}")
    for uri in shown["redirect_uris"]:
        out.print(f"redirect uri:   {uri}", markup=False)
    out.print("[yellow]Store the secrets now: syncd never shows them again.[/]")


@apps_app.command("show")
def apps_show(app_ref: str, as_json: JsonOption = False) -> None:
    """An application's ids, redirect URIs and webhook signing (no secrets)."""
    runtime.require_database()
    with runtime.session() as session:
        row = _app_row(session, find_application(session, app_ref))
    if as_json:
        print_json(row)
        return
    table(
        f"application {row['application_id']}",
        ["field", "value"],
        [[key, ", ".join(v) if isinstance(v, list) else v] for key, v in row.items()],
    )


@apps_app.command("list")
def apps_list(as_json: JsonOption = False) -> None:
    """Every application with its client_id."""
    runtime.require_database()
    with runtime.session() as session:
        rows = [_app_row(session, application) for application in list_applications(session)]
    columns = ["application_id", "name", "client_id", "webhook_signing", "api_keys"]
    listing("applications", columns, rows, as_json)


@apps_app.command("redirect-uris")
def apps_redirect_uris(
    app_ref: str,
    add: Annotated[
        list[str] | None, typer.Option("--add", help="Register this URI (repeatable).")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Unregister this URI (repeatable).")
    ] = None,
    replace: Annotated[
        list[str] | None,
        typer.Option("--set", help="Replace the whole list with these URIs (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show or change the redirect URIs /oauth/authorize accepts for an application."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        uris = list(application.redirect_uris) if replace is None else list(replace)
        missing = [uri for uri in remove or [] if uri not in uris]
        if missing:
            raise UserError(f"{application.id} has no redirect URI {missing[0]!r}")
        uris = [uri for uri in uris if uri not in (remove or [])] + list(add or [])
        if add is not None or remove is not None or replace is not None:
            uris = set_redirect_uris(session, application, uris)
        application_id = application.id
    if as_json:
        print_json({"application_id": application_id, "redirect_uris": uris})
        return
    if not uris:
        out.print(f"{application_id} has no redirect URI: /oauth/authorize refuses every request")
    for uri in uris:
        out.print(uri, markup=False)


@apps_app.command("webhook-signing")
def apps_webhook_signing(
    app_ref: str,
    mode: Annotated[str, typer.Argument(help="client_secret or webhook_secret.")],
) -> None:
    """Choose what signs the application's webhooks (Cronofy-HMAC-SHA256)."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        set_webhook_signing(session, runtime.box, application, mode)
        application_id = application.id
    out.print(f"{application_id}: webhooks are signed with the {mode.replace('_', ' ')}")


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
def apps_rotate_key(app_ref: str, as_json: JsonOption = False) -> None:
    """Issue a new API key (client_secret); older keys keep working until `syncd apps
    revoke-key`, and meanwhile webhooks carry one signature per valid key."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        row, api_key = rotate_api_key(session, runtime.box, application.id)
        older = [
            key.id
            for key in list_api_keys(session, application.id)
            if key.revoked_at is None and key.id != row.id
        ]
    if as_json:
        print_json({"key_id": row.id, "client_secret": api_key, "older_valid_key_ids": older})
        return
    out.print(f"api key:     {api_key}")
    out.print("(the new client_secret: webhooks are signed with every valid key meanwhile)")
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
    as_json: JsonOption = False,
) -> None:
    """Create an account; prints its `acc_…` sub."""
    with runtime.session() as session:
        application = find_application(session, app_ref)
        account = create_account(session, application.id, email, name, timezone)
        shown = {"sub": account.id, "application_id": application.id, "email": account.email}
    if as_json:
        print_json(shown)
        return
    out.print(shown["sub"])


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
    as_json: JsonOption = False,
) -> None:
    """Issue an access token for the account's own API calls (no expiry, every scope),
    or revoke them all (OAuth grants included)."""
    with runtime.session() as session:
        account = find_account(session, account_id)
        if revoke:
            count = revoke_access_tokens(session, account.id)
            application = find_application(session, account.application_id)
            revoke_account_authorizations(session, application, account.id)  # refresh tokens
            if as_json:
                print_json({"sub": account.id, "revoked": count})
            else:
                out.print(f"revoked {count} token(s) of {account.id}")
            return
        token = issue_access_token(session, account.id)
    if as_json:
        print_json({"sub": account_id, "access_token": token, "expires_in": None})
        return
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
