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
from rich.table import Table

# Messages are never folded at the console width: a path, URL or id printed to a pipe or
# a file stays on one line and copies whole (a terminal still wraps it for display).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


#: Columns with spaces in their values fold down to this width; the others never fold.
FOLDED_WIDTH = 12


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A table whose ids, emails, hosts and times never fold (they must copy whole):
    only text with spaces folds; when even that does not fit, one block per row."""
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    widths = [
        max([len(column), *(len(row[i]) for row in cells)]) for i, column in enumerate(columns)
    ]
    foldable = [any(" " in row[i] for row in cells) for i in range(len(columns))]
    needed = sum(
        min(width, FOLDED_WIDTH) if fold else width
        for width, fold in zip(widths, foldable, strict=True)
    )
    if needed + 3 * len(columns) + 1 > out.width:
        _vertical(title, columns, cells)
        return
    shown = Table(title=title)
    for column, width, fold in zip(columns, widths, foldable, strict=True):
        if fold:
            shown.add_column(column, overflow="fold", min_width=min(width, FOLDED_WIDTH))
        else:
            shown.add_column(column, no_wrap=True, min_width=width)
    for row in cells:
        shown.add_row(*row)
    out.print(shown)


def _vertical(title: str, columns: list[str], cells: list[list[str]]) -> None:
    """Too narrow for a table: every row as ``column  value`` lines; text with spaces
    wraps under its value, ids are never broken."""
    out.print(title, style="bold italic")
    for row in cells:
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for column, value in zip(columns, row, strict=True):
            block.add_row(column, value)
        out.print()
        out.print(block, markup=False, highlight=False)


def listing(title: str, columns: list[str], rows: list[dict[str, Any]], as_json: bool) -> None:
    """What every ``list`` command prints: the rows as JSON, or these columns as a table."""
    if as_json:
        print_json(rows)
        return
    table(title, columns, [[row[c] for c in columns] for row in rows])
