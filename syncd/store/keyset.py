"""Keyset paging: "the rows after this one" in a total order, as one WHERE condition.

Offsets shift when rows are inserted or deleted between two page reads, and a forged
huge offset overflows SQLite; a key (the sort columns of the last row served) does
neither. The condition is spelled out column by column, ``a > x OR (a = x AND b > y)
OR …``, so every value is bound with its column's type (``UTCDateTime`` included) and it
reads the same on SQLite and Postgres.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

__all__ = ["after_key"]


def after_key(columns: Sequence[Any], key: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the ascending order of ``columns``."""
    if len(columns) != len(key) or not columns:
        raise ValueError("a key needs one value per sort column")
    branches: list[ColumnElement[bool]] = []
    for index, column in enumerate(columns):
        equal = [columns[i] == key[i] for i in range(index)]
        branches.append(and_(*equal, column > key[index]))
    return or_(*branches)
