"""The status values syncd stores and reports, as ``StrEnum``\\ s.

Each member *is* its string (``SyncStatus.ACTIVE == "active"``), so the values on the
wire, in the database and in existing comparisons are exactly the strings they always
were; the enums only name the allowed values in one place.

This module imports nothing of syncd: the store, the availability engine, metrics and
the sync engine all use it (it sits with ``syncd.ids`` and ``syncd.errors`` at the bottom
of the dependency order).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ConferencingProfileStatus",
    "ConferencingState",
    "ManagedEventState",
    "SyncStatus",
]


class SyncStatus(StrEnum):
    """How far a profile's (or a member's) calendar data can be trusted.

    See ``docs/sync-engine.md`` ("sync_status"): ``pending`` until the first full sync
    completes (or while the data is stale), ``active`` when synced within the staleness
    bound, ``disconnected`` once the provider refused the credentials.
    """

    PENDING = "pending"
    ACTIVE = "active"
    DISCONNECTED = "disconnected"


class ManagedEventState(StrEnum):
    """How far the write of an event made through the API got (``ManagedEvent.state``).

    ``pending_write`` and ``pending_delete`` rows are the daemon's work queue (leased,
    retried); ``written``, ``deleted`` and ``failed`` are final until the caller asks again.
    """

    PENDING_WRITE = "pending_write"
    WRITTEN = "written"
    PENDING_DELETE = "pending_delete"
    DELETED = "deleted"
    FAILED = "failed"


class ConferencingState(StrEnum):
    """``ManagedEvent.conferencing_state``: where the event's conferencing stands.

    ``pending_failure`` is "failed for good, not yet signalled": the next commit of the row
    turns it into ``failing`` and enqueues ``conferencing_failing`` in one transaction.
    """

    NONE = "none"
    PENDING = "pending"
    ASSIGNED = "assigned"
    PENDING_FAILURE = "pending_failure"
    FAILING = "failing"


class ConferencingProfileStatus(StrEnum):
    """``ConferencingProfile.status``: whether its grant still works."""

    ACTIVE = "active"
    DISCONNECTED = "disconnected"
