"""The admin CLI (``syncd …``): tenants, accounts, profiles, one-off syncs, the daemon, the demo.

Commands only parse, call store/sync functions and print; errors are one line on stderr
with exit status 2. Listing commands take ``--json``; no secret is ever printed there.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, col

from providers.base import ProviderError
from syncd import metrics
from syncd.config import Settings, load_settings
from syncd.errors import ConfigError, OperatorError, SecretBoxError, SyncdError
from syncd.logs import configure_logging, redact
from syncd.logs import set_level as set_log_level
from syncd.notify.channels import install_sync_hooks
from syncd.oauth_flow import authorize_interactively
from syncd.registry import build_provider, oauth_client, provider_class
from syncd.registry import provider_endpoints as endpoints_for
from syncd.signals import stop_on_signals, stopped_after, wait_until_set
from syncd.store.crypto import (
    SecretBox,
    count_not_on_newest_key,
    generate_key,
    reencrypt_secrets,
)
from syncd.store.db import make_engine, schema_is_current, session_scope, upgrade_schema
from syncd.store.models import Profile, SyncRun, utcnow
from syncd.store.profiles import (
    create_profile,
    find_profile,
    list_profiles,
    profile_credentials,
    reauthorize_profile,
    remove_profile,
)
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
from syncd.sync.daemon import SyncDaemon
from syncd.sync.push import stop_profile_channels
from syncd.sync.run import SyncContext, SyncOutcome, sync_profile
from syncd.sync.status import effective_status
from syncd.systemd import Notifier

app = typer.Typer(
    help="syncd: self-hosted calendar sync with a Cronofy-compatible API.", no_args_is_help=True
)
apps_app = typer.Typer(help="Applications (API clients).", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (end users, Cronofy `sub`).", no_args_is_help=True)
profiles_app = typer.Typer(help="Connected calendar services.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys.", no_args_is_help=True)
app.add_typer(apps_app, name="apps")
app.add_typer(accounts_app, name="accounts")
app.add_typer(profiles_app, name="profiles")
app.add_typer(keys_app, name="keys")

out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass
class Runtime:
    """Settings plus the database and key material, set up once per command."""

    config_path: str | None
    _settings: Settings | None = None
    _engine: Engine | None = None
    _box: SecretBox | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            configure_logging(self._settings.log_level)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            _upgrade_once(self._engine)
        return self._engine

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox(self.settings.secret_keys)
        return self._box

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session


_runtime = Runtime(config_path=None)

#: Postgres advisory lock key held while migrating ("syncd" in ASCII).
MIGRATION_LOCK = 0x73796E6364


def _upgrade_once(engine: Engine) -> None:
    """Migrate, one process at a time: daemons started together on an empty Postgres would
    otherwise race to create the same tables."""
    if engine.dialect.name != "postgresql":
        upgrade_schema(engine)
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            upgrade_schema(engine)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()


@app.callback()
def _main(
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML config file (default: $SYNCD_CONFIG).",
            envvar="SYNCD_CONFIG",
        ),
    ] = None,
) -> None:
    _runtime.config_path = config


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        # ids must stay copy-pastable: fold long values instead of truncating them
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if value is None else str(value) for value in row])
    out.print(table)


# --------------------------------------------------------------------------- apps


@apps_app.command("create")
def apps_create(name: str) -> None:
    """Create an application; prints its API key and webhook secret once."""
    with _runtime.session() as session:
        created = create_application(session, _runtime.box, name)
    out.print(f"application: {created.application.id}")
    out.print(f"api key:     {created.api_key}")
    out.print(f"webhook secret: {created.webhook_secret}")
    out.print("[yellow]Store the key and secret now: only their hashes/ciphertexts are kept.[/]")


@apps_app.command("keys")
def apps_keys(app_ref: str, as_json: JsonOption = False) -> None:
    """List an application's API keys (ids and dates; keys themselves are never stored)."""
    with _runtime.session() as session:
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
        _print_json(rows)
        return
    _table(
        f"API keys of {app_ref}",
        ["key_id", "created_at", "revoked_at"],
        [list(row.values()) for row in rows],
    )


@apps_app.command("rotate-key")
def apps_rotate_key(app_ref: str) -> None:
    """Issue a new API key; older keys keep working until `syncd apps revoke-key`."""
    with _runtime.session() as session:
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
    with _runtime.session() as session:
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
    email: Annotated[str, typer.Option("--email")],
    name: Annotated[str, typer.Option("--name")] = "",
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone.")] = "Etc/UTC",
) -> None:
    """Create an account; prints its ``acc_…`` sub."""
    with _runtime.session() as session:
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
    with _runtime.session() as session:
        application_id = find_application(session, app_ref).id if app_ref else None
        rows = account_rows(session, application_id)
    if as_json:
        _print_json(rows)
        return
    _table("accounts", list(rows[0]) if rows else ["sub"], [list(row.values()) for row in rows])


@accounts_app.command("token")
def accounts_token(
    account_id: str,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke every token of the account.")
    ] = False,
) -> None:
    """Issue an access token for the account's own API calls (or revoke them all)."""
    with _runtime.session() as session:
        account = find_account(session, account_id)
        if revoke:
            count = revoke_access_tokens(session, account.id)
            out.print(f"revoked {count} token(s) of {account.id}")
            return
        token = issue_access_token(session, account.id)
    out.print(token)


# --------------------------------------------------------------------------- profiles

profiles_connect_app = typer.Typer(
    help="Connect a calendar service to an account.", no_args_is_help=True
)
profiles_app.add_typer(profiles_connect_app, name="connect")


def _add_profile(account_id: str, provider: str, credentials: dict[str, Any]) -> Profile:
    settings = _runtime.settings
    adapter = build_provider(settings, provider, credentials)
    name = adapter.profile_name()
    with _runtime.session() as session:
        account = find_account(session, account_id)
        refreshed = adapter.refreshed_credentials()
        return create_profile(
            session, _runtime.box, account, provider, name, refreshed or credentials
        )


@profiles_connect_app.command("caldav")
def connect_caldav(
    account_id: Annotated[str, typer.Option("--account")],
    url: Annotated[str, typer.Option("--url", help="Server, principal or calendar URL.")],
    username: Annotated[str, typer.Option("--username")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)],
) -> None:
    """Connect a CalDAV account (iCloud, Fastmail, Nextcloud, Radicale, …)."""
    with _runtime.session() as session:
        find_account(session, account_id)
    profile = _add_profile(
        account_id, "caldav", {"url": url, "username": username, "password": password}
    )
    out.print(profile.id)


def _oauth_credentials(provider: str, refresh_token: str | None) -> dict[str, Any]:
    cls = provider_class(provider)
    if refresh_token:
        return cls.credentials_from_refresh_token(refresh_token)  # type: ignore[attr-defined]
    settings = _runtime.settings
    client = oauth_client(settings, provider)
    if not client.client_id:
        raise ConfigError(
            f"no OAuth client configured for {provider}: "
            f"set [{provider}] client_id and client_secret"
        )
    err.print(f"Open this URL to authorize {provider} access (waiting for the redirect):")
    return authorize_interactively(
        cls,  # type: ignore[arg-type]
        client,
        endpoints_for(settings, provider),
        announce=lambda url: out.print(url, soft_wrap=True),
    )


@profiles_connect_app.command("google")
def connect_google(
    account_id: Annotated[str, typer.Option("--account")],
    refresh_token: Annotated[
        str | None,
        typer.Option(
            "--refresh-token", help="Import an existing grant instead of the browser flow."
        ),
    ] = None,
) -> None:
    """Connect Google Calendar through OAuth (or import a refresh token)."""
    with _runtime.session() as session:
        find_account(session, account_id)
    profile = _add_profile(account_id, "google", _oauth_credentials("google", refresh_token))
    out.print(profile.id)


@profiles_connect_app.command("microsoft")
def connect_microsoft(
    account_id: Annotated[str, typer.Option("--account")],
    refresh_token: Annotated[
        str | None,
        typer.Option(
            "--refresh-token", help="Import an existing grant instead of the browser flow."
        ),
    ] = None,
) -> None:
    """Connect Microsoft 365 / Outlook through OAuth (or import a refresh token)."""
    with _runtime.session() as session:
        find_account(session, account_id)
    profile = _add_profile(account_id, "microsoft", _oauth_credentials("microsoft", refresh_token))
    out.print(profile.id)


def profile_rows(session: Session, account_id: str | None) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for profile in list_profiles(session, account_id=account_id):
        current = effective_status(profile, now, _runtime.settings.staleness_bound)
        rows.append(
            {
                "profile_id": profile.id,
                "account_id": profile.account_id,
                "provider": profile.provider,
                "profile_name": profile.name,
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
    account_id: Annotated[str | None, typer.Option("--account")] = None,
    as_json: JsonOption = False,
) -> None:
    """List profiles with their sync_status, reason and last success."""
    with _runtime.session() as session:
        if account_id:
            find_account(session, account_id)
        rows = profile_rows(session, account_id)
    if as_json:
        _print_json(rows)
        return
    columns = [
        "profile_id",
        "account_id",
        "provider",
        "profile_name",
        "sync_status",
        "reason",
        "last_success",
    ]
    _table("profiles", columns, [[row[c] for c in columns] for row in rows])


@profiles_app.command("reauthorize")
def profiles_reauthorize(
    profile_id: str,
    refresh_token: Annotated[str | None, typer.Option("--refresh-token")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="CalDAV: the new password.")
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", help="CalDAV: a new username.")
    ] = None,
) -> None:
    """Authorize a profile again; it is pending until its next successful sync."""
    with _runtime.session() as session:
        profile = find_profile(session, profile_id)
        provider = profile.provider
        old = profile_credentials(_runtime.box, profile)
    if provider_class(provider).uses_oauth:
        credentials = _oauth_credentials(provider, refresh_token)
    else:
        if password is None:
            password = typer.prompt("password", hide_input=True)
        credentials = {**old, "password": password, **({"username": username} if username else {})}
    with _runtime.session() as session:
        reauthorize_profile(session, _runtime.box, find_profile(session, profile_id), credentials)
    out.print(f"{profile_id} reauthorized: pending until its next successful sync")


@profiles_app.command("remove")
def profiles_remove(profile_id: str) -> None:
    """Remove a profile and everything synced from it (its push channels are stopped)."""
    with _runtime.session() as session:
        find_profile(session, profile_id)  # a missing profile fails before anything is stopped
    stop_profile_channels(SyncContext(_runtime.engine, _runtime.settings, _runtime.box), profile_id)
    with _runtime.session() as session:
        remove_profile(session, find_profile(session, profile_id))
    out.print(f"removed {profile_id}")


# --------------------------------------------------------------------------- conferencing

conferencing_app = typer.Typer(
    help="Conferencing services (Zoom, GoTo Meeting, Teams, Google Meet).", no_args_is_help=True
)
app.add_typer(conferencing_app, name="conferencing")


@conferencing_app.command("connect")
def conferencing_connect(
    provider: Annotated[str, typer.Argument(help="zoom, goto, teams or meet")],
    account_id: Annotated[str, typer.Option("--account")],
    refresh_token: Annotated[
        str | None,
        typer.Option(
            "--refresh-token", help="Import an existing grant instead of the browser flow."
        ),
    ] = None,
) -> None:
    """Authorize a conferencing service for an account (OAuth in the browser)."""
    from syncd.conferencing import authorize

    settings = _runtime.settings
    flow = authorize.flow_class(provider)
    with _runtime.session() as session:
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
            announce=lambda url: out.print(url, soft_wrap=True),
        )
    with _runtime.session() as session:
        account = find_account(session, account_id)
        label = authorize.profile_name(settings, provider, credentials, account)
        profile = authorize.store_profile(
            session, _runtime.box, account, provider, label, credentials
        )
        out.print(profile.id)


def conferencing_rows(session: Session, account_id: str | None) -> list[dict[str, Any]]:
    from syncd.store.managed import list_conferencing_profiles
    from syncd.store.models import Account

    rows = []
    for profile in list_conferencing_profiles(session, account_id):
        account = session.get(Account, profile.account_id)
        rows.append(
            {
                "profile_id": profile.id,
                "account_id": profile.account_id,
                "provider": profile.provider,
                "profile_name": profile.name,
                "status": profile.status,
                "reason": profile.status_reason,
                "default": bool(account and account.default_conferencing_profile_id == profile.id),
            }
        )
    return rows


@conferencing_app.command("list")
def conferencing_list(
    account_id: Annotated[str | None, typer.Option("--account")] = None,
    as_json: JsonOption = False,
) -> None:
    """List conferencing profiles, their status and which one is each account's default."""
    with _runtime.session() as session:
        if account_id:
            find_account(session, account_id)
        rows = conferencing_rows(session, account_id)
    if as_json:
        _print_json(rows)
        return
    columns = ["profile_id", "account_id", "provider", "profile_name", "status", "default"]
    _table("conferencing profiles", columns, [[row[c] for c in columns] for row in rows])


@conferencing_app.command("default")
def conferencing_default(
    account_id: str,
    profile_id: Annotated[str, typer.Argument(help='A pro_… id, or "8x8" for the built-in rooms')],
) -> None:
    """Choose the service ``conferencing: {"profile_id": "default"}`` uses for an account."""
    from syncd.store.managed import set_default_conferencing

    with _runtime.session() as session:
        account = find_account(session, account_id)
        chosen = None if profile_id.lower() in ("8x8", "none") else profile_id
        set_default_conferencing(session, account, chosen)
    out.print(f"{account_id}: default conferencing is {chosen or '8x8'}")


@conferencing_app.command("remove")
def conferencing_remove(profile_id: str) -> None:
    """Forget a conferencing profile (its existing meetings are left in place)."""
    from syncd.store.managed import find_conferencing_profile, remove_conferencing_profile

    with _runtime.session() as session:
        remove_conferencing_profile(session, find_conferencing_profile(session, profile_id))
    out.print(f"removed {profile_id}")


@app.command("work")
def work_command(
    once: Annotated[
        bool, typer.Option("--once", help="Write the managed events due now, then exit.")
    ] = True,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 1000,
) -> None:
    """Write due managed events (and their conferencing) once, as the daemon's job does.

    Webhooks they cause are queued in the outbox and sent by ``syncd run``.
    """
    from syncd.conferencing.worker import ManagedEventWorker

    worker = ManagedEventWorker(
        _runtime.engine, _runtime.settings, _runtime.box, worker_id="cli-work"
    )
    out.print(f"processed {worker.run_due(limit)} managed event(s)")


# --------------------------------------------------------------------------- keys


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new encryption key for ``secret_keys``."""
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
    keys = list(_runtime.settings.secret_keys)
    if new_key is not None:
        keys = [new_key, *[key for key in keys if key != new_key]]
    box = SecretBox(keys)
    report = reencrypt_secrets(_runtime.engine, box)
    left = count_not_on_newest_key(_runtime.engine, keys[0])
    summary = {
        "rewritten": report.rewritten,
        "unreadable": report.unreadable,
        "changed_during_rotation": report.raced,
        "not_on_newest_key": left,
    }
    if as_json:
        _print_json(summary)
    else:
        _table(
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


# --------------------------------------------------------------------------- sync, run, serve


def sync_once(profile_ids: list[str], on_done: Callable[[SyncOutcome], None]) -> list[SyncOutcome]:
    context = SyncContext(_runtime.engine, _runtime.settings, _runtime.box, worker_id="cli")
    install_sync_hooks(context)  # notifications are queued here and sent by `syncd run`
    outcomes = []
    for profile_id in profile_ids:
        outcome = sync_profile(context, profile_id)
        outcomes.append(outcome)
        on_done(outcome)
    return outcomes


@app.command("sync")
def sync_command(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the profiles, then exit.")
    ] = True,
    profile_id: Annotated[str | None, typer.Option("--profile")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sync every connected profile (or one) once, then print a summary."""
    with _runtime.session() as session:
        if profile_id:
            ids = [find_profile(session, profile_id).id]
        else:
            ids = [p.id for p in list_profiles(session) if p.sync_status != "disconnected"]
    if out.is_terminal and not as_json:
        with Progress(console=out, transient=True) as progress:
            task = progress.add_task("syncing", total=len(ids))
            outcomes = sync_once(ids, lambda _: progress.advance(task))
    else:
        outcomes = sync_once(ids, lambda _: None)
    rows = [
        {
            "profile_id": o.profile_id,
            "outcome": o.outcome,
            "calendars": o.calendars,
            "pages": o.pages,
            "changes": o.changes,
            "skipped_items": o.skipped_items,
            "detail": o.detail,
        }
        for o in outcomes
    ]
    if as_json:
        _print_json(rows)
    else:
        columns = list(rows[0]) if rows else ["profile_id"]
        _table("sync summary", columns, [list(row.values()) for row in rows])
    if any(o.outcome not in ("ok", "skipped") for o in outcomes):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- status


def fleet_summary(engine: Engine, settings: Settings, errors: int = 10) -> dict[str, Any]:
    """What `syncd status` shows: profiles by status and provider, scheduling, daemons seen
    in the last hour, queue backlogs and the latest errors (redacted)."""
    now = utcnow()
    hour_ago = now - dt.timedelta(hours=1)
    with engine.connect() as connection:
        counts = metrics.fleet_counts(connection, settings.staleness_bound)
        queues = metrics.backlogs(connection)
        providers: dict[str, dict[str, int]] = {}
        for provider, stored, count in connection.execute(
            select(Profile.provider, Profile.sync_status, func.count()).group_by(
                Profile.provider, Profile.sync_status
            )
        ):
            providers.setdefault(provider, {})[stored] = int(count)
        oldest_due = connection.execute(
            select(func.min(col(Profile.next_due_at))).where(
                Profile.sync_status != "disconnected", col(Profile.next_due_at) <= now
            )
        ).scalar_one_or_none()
        outcomes = {
            outcome: int(count)
            for outcome, count in connection.execute(
                select(SyncRun.outcome, func.count())
                .where(col(SyncRun.started_at) >= hour_ago)
                .group_by(SyncRun.outcome)
            )
        }
        workers = [
            {"worker": worker, "runs": int(runs), "last_run_at": last.isoformat()}
            for worker, runs, last in connection.execute(
                select(SyncRun.worker, func.count(), func.max(SyncRun.started_at))
                .where(col(SyncRun.started_at) >= hour_ago)
                .group_by(SyncRun.worker)
                .order_by(func.max(SyncRun.started_at).desc())
            )
        ]
        failing = connection.execute(
            select(
                Profile.id,
                Profile.provider,
                Profile.sync_status,
                Profile.failure_count,
                Profile.last_attempt_at,
                Profile.last_error,
            )
            .where(col(Profile.last_error).is_not(None))
            .order_by(col(Profile.last_attempt_at).desc())
            .limit(errors)
        ).all()
    return {
        "profiles": {"total": sum(counts.by_status.values()), **counts.by_status},
        "by_provider": providers,
        "scheduling": {
            "due": counts.due,
            "leased": counts.leased,
            "most_overdue_seconds": round((now - oldest_due).total_seconds(), 1)
            if oldest_due
            else 0,
        },
        "syncs_last_hour": outcomes,
        "daemons_last_hour": workers,
        "queues": {
            queue: {
                "pending": item.pending,
                "oldest_pending_age_seconds": round((now - item.oldest_pending_at).total_seconds())
                if item.oldest_pending_at
                else 0,
            }
            for queue, item in queues.items()
        },
        "last_errors": [
            {
                "profile_id": row.id,
                "provider": row.provider,
                "sync_status": row.sync_status,
                "failures": row.failure_count,
                "last_attempt_at": row.last_attempt_at.isoformat() if row.last_attempt_at else None,
                "error": redact(row.last_error or ""),
            }
            for row in failing
        ],
    }


@app.command("status")
def status_command(as_json: JsonOption = False) -> None:
    """A summary of the fleet: profiles by status, scheduling, daemons, backlogs, errors."""
    summary = fleet_summary(_runtime.engine, _runtime.settings)
    if as_json:
        _print_json(summary)
        return
    profiles = summary["profiles"]
    _table(
        "profiles",
        ["total", "active", "pending", "disconnected"],
        [[profiles[key] for key in ("total", "active", "pending", "disconnected")]],
    )
    if summary["by_provider"]:
        _table(
            "stored sync_status by provider",
            ["provider", "active", "pending", "disconnected"],
            [
                [name, row.get("active", 0), row.get("pending", 0), row.get("disconnected", 0)]
                for name, row in sorted(summary["by_provider"].items())
            ],
        )
    scheduling = summary["scheduling"]
    _table(
        "scheduling",
        ["due now", "leased now", "most overdue (s)", "syncs last hour"],
        [
            [
                scheduling["due"],
                scheduling["leased"],
                scheduling["most_overdue_seconds"],
                ", ".join(f"{k}: {v}" for k, v in sorted(summary["syncs_last_hour"].items()))
                or "none",
            ]
        ],
    )
    if summary["daemons_last_hour"]:
        _table(
            "daemons (last hour)",
            ["worker", "runs", "last_run_at"],
            [list(row.values()) for row in summary["daemons_last_hour"]],
        )
    if summary["queues"]:
        _table(
            "queues",
            ["queue", "pending", "oldest pending (s)"],
            [
                [queue, item["pending"], item["oldest_pending_age_seconds"]]
                for queue, item in summary["queues"].items()
            ],
        )
    if summary["last_errors"]:
        columns = ["profile_id", "provider", "sync_status", "failures", "last_attempt_at", "error"]
        _table(
            "last errors", columns, [[row[c] for c in columns] for row in summary["last_errors"]]
        )


@app.command("migrate")
def migrate_command() -> None:
    """Upgrade the database schema to this version's newest migration, then exit."""
    if not schema_is_current(_runtime.engine):  # the engine property has just upgraded
        raise OperatorError("the schema is still behind after upgrading")
    out.print("database schema is current")


def _api_server(host: str | None, port: int | None) -> Any:
    from syncd.api.server import ApiServer

    settings = _runtime.settings
    return ApiServer(
        settings,
        _runtime.engine,
        host=host or settings.api_host,
        port=settings.api_port if port is None else port,
    )


@app.command("run")
def run_command(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
    no_api: Annotated[bool, typer.Option("--no-api", help="Sync only, no HTTP API.")] = False,
) -> None:
    """The long-running daemon: sync plus the HTTP API in one process.

    SIGTERM/SIGINT: stop taking work, finish or release what is in flight, exit 0.
    SIGHUP: reload the configuration that can change live (intervals, log level, keys).
    Under systemd (``Type=notify``) it reports READY, STATUS and feeds the watchdog.
    """
    stop = stop_on_signals()
    reload_requested = threading.Event()
    signal.signal(signal.SIGHUP, lambda _signum, _frame: reload_requested.set())
    notifier = Notifier()
    daemon = SyncDaemon(_runtime.engine, _runtime.settings, _runtime.box)
    daemon.start()
    server = None
    try:
        if not no_api:
            server = _api_server(host, port)
            server.start()
            err.print(f"syncd API listening on {server.url}")
        notifier.ready(daemon.status_line())
        notifier.start_watchdog(daemon.healthy, daemon.status_line)
        while not stopped_after(stop):
            if reload_requested.is_set():
                reload_requested.clear()
                notifier.reloading()
                _reload(daemon, server)
                notifier.ready(daemon.status_line())
        notifier.stopping()
    finally:
        if server is not None:
            server.stop()
        daemon.stop()
        notifier.close()


def _reload(daemon: SyncDaemon, server: Any) -> None:
    """Re-read the configuration and apply what can change while running."""
    try:
        settings = load_settings(_runtime.config_path)
        box = SecretBox(settings.secret_keys)
    except (ConfigError, SecretBoxError) as error:
        metrics.CONFIG_RELOADS.labels("failed").inc()
        logging.getLogger("syncd").error("configuration not reloaded: %s", error)
        return
    ignored = daemon.reload(settings, box)
    set_log_level(settings.log_level)
    if server is not None:
        server.app.state.settings = daemon.settings
        server.app.state.box = box
    metrics.CONFIG_RELOADS.labels("ok").inc()
    logging.getLogger("syncd").info(
        "configuration reloaded (poll_interval %s s, log level %s)%s",
        settings.poll_interval,
        settings.log_level,
        f"; restart needed for {', '.join(ignored)}" if ignored else "",
    )


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """The HTTP API only (the sync daemon runs elsewhere)."""
    stop = stop_on_signals()
    server = _api_server(host, port)
    server.start()
    err.print(f"syncd API listening on {server.url}")
    try:
        wait_until_set(stop)
    finally:
        server.stop()


@app.command("demo")
def demo_command(
    folder: Annotated[
        Path | None,
        typer.Option("--folder", help="Keep the demo's files here (default: a temp folder)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="API port (0: any free port).")] = 8080,
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Stop after this many seconds (default: Ctrl-C)."),
    ] = None,
) -> None:
    """A real daemon on SQLite syncing a real local CalDAV server, with the API up."""
    from syncd.demo import run_demo

    run_demo(folder=folder, api_port=port, duration=duration, console=out)


def main() -> None:
    """Console entry point, and the CLI's one error mapping: a ``SyncdError`` (or an
    adapter's ``ProviderError``) is one line on stderr and exit status 2."""
    global _runtime
    _runtime = Runtime(config_path=None)
    try:
        status = app(standalone_mode=False)
        if isinstance(status, int) and status:
            sys.exit(status)
    except (SyncdError, ProviderError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except typer.TyperException as error:  # usage errors: unknown option, missing value
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {error}", markup=False, highlight=False)
        sys.exit(2)
