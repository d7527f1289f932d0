"""The event tables: provider items, the spans they occupy, and the tombstones of gone ones.

Beside ``syncd.store.models`` (which re-exports them) because they are the sync engine's
own: ``syncd.store.events`` writes them a page at a time and every range read hits
``occurrence``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from syncd.store.columns import NullableJSON, UTCDateTime, utcnow
from syncd.store.columns import utc_field as _utc


class Event(SQLModel, table=True):
    """One provider item: a single event, a series master, or an instance override."""

    __table_args__ = (
        UniqueConstraint("calendar_id", "provider_event_id"),
        Index("ix_event_series", "calendar_id", "series_key"),
        Index("ix_event_managed", "calendar_id", "managed_event_id"),
        # Series masters only: what every sync's series_needing_expansion reads, without
        # the calendar's single events (its query repeats this WHERE's terms).
        Index(
            "ix_event_expansion",
            "calendar_id",
            "expanded_until",
            sqlite_where=text("recurring = 1 AND is_override = 0"),
            postgresql_where=text("recurring AND NOT is_override"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    calendar_id: str = Field(foreign_key="calendar.id")
    provider_event_id: str
    #: Groups a master with its overrides: the master's provider id.
    series_key: str
    ical_uid: str | None = None
    recurring: bool = False
    is_override: bool = False
    original_start: str | None = None  # ISO text of the instance an override replaces
    start_utc: dt.datetime | None = _utc()
    end_utc: dt.datetime | None = _utc()
    start_text: str = ""  # ISO datetime with offset, or a date for all-day events
    end_text: str = ""
    tzid: str | None = None
    all_day: bool = False
    status: str = "confirmed"
    transparency: str = "opaque"
    participation_status: str = "unknown"
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    location: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: The location's coordinates ``{"latitude", "longitude"}`` when the provider has them
    #: (``include_geo`` reads them back); None without.
    geo: dict[str, float] | None = Field(default=None, sa_column=Column(NullableJSON))
    recurrence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ical: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    conferencing: dict[str, Any] | None = Field(default=None, sa_column=Column(NullableJSON))
    etag: str | None = None
    managed_event_id: str | None = None
    generation: int = 0
    expanded_until: dt.datetime | None = _utc()
    #: The etag (``""`` when none) of a series master whose expansion failed: it is not
    #: tried again, nor warned about, until the item changes.
    expansion_failed_etag: str | None = None
    #: The user's reply to single instances of a CalDAV series (RemoteEvent's field).
    instance_participation: dict[str, str] | None = Field(
        default=None, sa_column=Column(NullableJSON)
    )
    #: The people as the provider lists them: ``[{email, display_name, status, self}]``
    #: and ``{email, display_name, self}`` (``self``: the account's own entry).
    attendees: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(NullableJSON))
    organizer: dict[str, Any] | None = Field(default=None, sa_column=Column(NullableJSON))
    #: The provider lets the account change its reply (it is invited, not organising).
    can_reply: bool = False
    #: The provider's id of the series this item belongs to (a master's own id, its
    #: overrides' master, a provider-expanded occurrence's master); None: not recurring.
    provider_series_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_updated_at: dt.datetime | None = _utc()
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


class EventTombstone(SQLModel, table=True):
    """An event that left the store (deleted at the provider, by a full resync, or through
    the API), kept for ``deleted_event_retention_days`` so ``GET /v1/events`` with
    ``include_deleted`` can tell callers it is gone (``syncd.store.tombstones``)."""

    __table_args__ = (Index("ix_tombstone_read", "calendar_id", "deleted_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    calendar_id: str = Field(foreign_key="calendar.id")
    #: ``evt_external_<n>`` of the stored item; None for a managed event never synced.
    event_uid: str | None = None
    #: The caller's id when it was a managed event.
    event_id: str | None = None
    provider_event_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_series_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    start_text: str = ""
    end_text: str = ""
    all_day: bool = False
    created_at: dt.datetime | None = _utc()
    deleted_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


class Occurrence(SQLModel, table=True):
    """One concrete time span of an event (a recurring series has one per instance).

    This is what range reads hit: availability and free/busy are one indexed query here.
    """

    # free_busy_status is in the index so busy reads are answered from the index alone.
    __table_args__ = (
        Index("ix_occurrence_range", "calendar_id", "start_utc", "end_utc", "free_busy_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    calendar_id: str = Field(foreign_key="calendar.id")
    event_id: int = Field(foreign_key="event.id", index=True)
    start_utc: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end_utc: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    all_day: bool = False
    start_text: str = ""  # as the event gives it: date for all-day, else ISO datetime
    end_text: str = ""
    #: busy | tentative | free — the free/busy status this span contributes.
    free_busy_status: str = "busy"
