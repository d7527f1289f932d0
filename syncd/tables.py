"""Tables whose ids, emails, hosts and times never fold, so they copy whole.

Used by the CLI's listings and by ``syncd demo``: only columns whose values hold spaces
fold; when even that does not fit the console, each row is printed as its own block.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_table"]

#: Columns with spaces in their values fold down to this width; the others never fold.
FOLDED_WIDTH = 12


def print_table(console: Console, title: str, columns: list[str], rows: list[list[Any]]) -> None:
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
    if needed + 3 * len(columns) + 1 > console.width:
        _vertical(console, title, columns, cells)
        return
    shown = Table(title=title)
    for column, width, fold in zip(columns, widths, foldable, strict=True):
        if fold:
            shown.add_column(column, overflow="fold", min_width=min(width, FOLDED_WIDTH))
        else:
            shown.add_column(column, no_wrap=True, min_width=width)
    for row in cells:
        shown.add_row(*row)
    console.print(shown)


def _vertical(console: Console, title: str, columns: list[str], cells: list[list[str]]) -> None:
    """Too narrow for a table: every row as ``column  value`` lines; text with spaces
    wraps under its value, ids are never broken."""
    console.print(title, style="bold italic")
    for row in cells:
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for column, value in zip(columns, row, strict=True):
            block.add_row(column, value)
        console.print()
        console.print(block, markup=False, highlight=False)
