"""The admin CLI (``syncd …``): tenants, accounts, profiles, one-off syncs, the daemon, the demo.

Commands only parse, call store/sync functions and print; errors are one line on stderr
with exit status 2, mapped in one place (:func:`main`). Listing commands take ``--json``;
no secret is ever printed there.

One module per command group: ``tenants`` (apps, accounts, keys), ``profiles``,
``conferencing``, ``daemon`` (sync, work, migrate, run, serve, demo) and ``status``;
``runtime`` holds the settings, database and keys a command uses, ``output`` the consoles.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as package_version
from typing import Annotated

import typer

from providers.base import ProviderError
from syncd.cli import conferencing, daemon, pages, profiles, setup, status, tenants
from syncd.cli.output import err, out
from syncd.cli.runtime import runtime
from syncd.errors import SyncdError

__all__ = ["app", "err", "main", "out"]

app = typer.Typer(
    help="syncd: self-hosted calendar sync with a Cronofy-compatible API.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
# Registration order is the order `syncd --help` lists them in: commands, then groups.
app.command("init")(setup.init_command)
app.command("work")(daemon.work_command)
app.command("sync")(daemon.sync_command)
app.command("status")(status.status_command)
app.command("migrate")(daemon.migrate_command)
app.command("run")(daemon.run_command)
app.command("serve")(daemon.serve_command)
app.command("demo")(daemon.demo_command)
app.add_typer(tenants.apps_app, name="apps")
tenants.accounts_app.command("invite")(pages.accounts_invite)
app.add_typer(tenants.accounts_app, name="accounts")
app.add_typer(profiles.profiles_app, name="profiles")
app.add_typer(tenants.keys_app, name="keys")
app.add_typer(conferencing.conferencing_app, name="conferencing")
app.add_typer(pages.operator_app, name="operator")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"syncd {package_version('syncd')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML config file (default: $SYNCD_CONFIG, else ~/.config/syncd/syncd.toml "
            "or /etc/syncd/syncd.toml, whichever exists).",
            envvar="SYNCD_CONFIG",
        ),
    ] = None,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    runtime.config_path = config


def main() -> None:
    """Console entry point, and the CLI's one error mapping: a ``SyncdError`` (or an
    adapter's ``ProviderError``) is one line on stderr and exit status 2."""
    runtime.reset()
    try:
        exit_status = app(standalone_mode=False)
        if isinstance(exit_status, int) and exit_status:
            sys.exit(exit_status)
    except (SyncdError, ProviderError) as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
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
            err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
