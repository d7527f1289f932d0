"""Column types and field helpers the tables in ``syncd.store.models`` share.

Times are stored as naive UTC (``UTCDateTime`` converts at the boundary) so SQLite and
Postgres index and compare them the same way; statuses as their plain strings.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, TypeDecorator
from sqlmodel import AutoString, Field

__all__ = [
    "NullableJSON",
    "StatusString",
    "UTCDateTime",
    "status_field",
    "utc_field",
    "utcnow",
]

#: A JSON column whose ``None`` is SQL NULL, not the JSON text ``null``: nothing to
#: serialise for the many events without conferencing, attendees or an organizer (a
#: full sync writes thousands per page). Reads give ``None`` for both.
NullableJSON = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class StatusString(TypeDecorator[str]):
    """A ``StrEnum`` column stored as its plain string (the same VARCHAR as a ``str`` field).

    Values read back are members of the enum; a value the enum does not know (written by
    a newer version, or by hand) comes back as the plain string rather than failing the
    read, so the rules that interpret statuses decide what it means.
    """

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            return value


def status_field(enum: type[StrEnum], default: StrEnum) -> Any:
    return Field(default=default, sa_column=Column(StatusString(enum), nullable=False))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_field(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))
