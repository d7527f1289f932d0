"""``syncd init``: the config file with a new key ring, and the database, in their places.

The file is written once, private (0600 in a 0700 folder), where every later command and
the systemd unit find it without an environment variable (``syncd.config``); nothing
secret is printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from syncd.cli.output import out
from syncd.cli.runtime import runtime
from syncd.config import default_database_url, load_settings, user_config_path
from syncd.errors import ConfigError
from syncd.store.crypto import generate_key
from syncd.store.db import describe_database


def config_text(database_url: str, key: str) -> str:
    """A minimal config: where the database is, and the key ring (newest first)."""
    written = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"# syncd configuration, written by `syncd init` on {written}.\n"
        "# Every key is documented in config/syncd.example.toml.\n\n"
        f"database_url = {json.dumps(database_url)}\n\n"
        "# Encrypts credentials at rest, newest first (the first encrypts, all decrypt).\n"
        "# Back this file up: credentials encrypted with a lost key cannot be recovered.\n"
        f"secret_keys = [{json.dumps(key)}]\n"
    )


def write_private_file(path: Path, text: str) -> None:
    """Create ``path`` (0600; missing folders 0700); never overwrite an existing file."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists: syncd is initialised (its keys are in that file; "
            "add a key with `syncd keys generate` and `syncd keys rotate`)"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def init_command(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database to use (default: ~/.local/share/syncd/syncd.db, or "
            "/var/lib/syncd/syncd.db for a config under /etc/syncd/).",
        ),
    ] = None,
    no_database: Annotated[
        bool,
        typer.Option(
            "--no-database",
            help="Only write the config file; the database is created by the first "
            "command that writes (e.g. the daemon, run as its own user).",
        ),
    ] = False,
) -> None:
    """Write the config file with a new key ring, then create the database.

    The file is --config, else ~/.config/syncd/syncd.toml, written 0600 and never
    overwritten; every later command (and the systemd unit) reads it.
    """
    path = Path(runtime.config_path) if runtime.config_path else user_config_path()
    url = database_url or default_database_url(path)
    write_private_file(path, config_text(url, generate_key()))
    load_settings(path)  # what was written must read back
    out.print(f"wrote {path} (mode 0600) with a new encryption key: back this file up")
    runtime.config_path = str(path)
    if not no_database:
        runtime.engine  # noqa: B018  (creates the database and its schema)
        out.print(f"database: {describe_database(url)}")
