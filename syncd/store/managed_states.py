"""The states a managed event and its conferencing go through, as ``StrEnum``\\ s.

They are stored as their string values (``ManagedEvent.state``,
``ManagedEvent.conferencing_state``, ``ConferencingProfile.status``) and compare equal to
them, so rows written before these enums existed read the same.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ConferencingProfileStatus", "ConferencingState", "ManagedState"]


class ManagedState(StrEnum):
    """``ManagedEvent.state``: how far the write (or delete) of a managed event got."""

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
