"""Autogenerate an Alembic migration from the models.

Usage: ``python scripts/make_migration.py "message"``.

Runs against a scratch SQLite database upgraded to the current head, so the new revision
holds exactly the difference between the models and the existing migrations.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from syncd.store.db import _alembic_config, make_engine, upgrade_schema


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "schema change"
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'scratch.db'}")
        upgrade_schema(engine)
        command.revision(_alembic_config(engine), message=message, autogenerate=True)


if __name__ == "__main__":
    main()
