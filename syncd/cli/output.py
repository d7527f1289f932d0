"""What every command prints through: the two consoles, ``--json`` and tables.

Tests replace ``out.print`` to stand in for the operator's browser, so every module
prints through these two objects rather than consoles of its own.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from syncd.tables import print_table

# Messages are never folded at the console width: a path, URL or id printed to a pipe or
# a file stays on one line and copies whole (a terminal still wraps it for display).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table on stdout whose ids never fold (:func:`syncd.tables.print_table`)."""
    print_table(out, title, columns, rows)


def listing(title: str, columns: list[str], rows: list[dict[str, Any]], as_json: bool) -> None:
    """What every ``list`` command prints: the rows as JSON, or these columns as a table."""
    if as_json:
        print_json(rows)
        return
    table(title, columns, [[row[c] for c in columns] for row in rows])
