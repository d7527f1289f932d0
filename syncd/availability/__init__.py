"""Availability engine: pure interval algebra and query evaluation, no I/O.

Public API:

* ``evaluate_availability(AvailabilityQuery) -> list[AvailableTime]``: the one
  entry point; its semantics are documented in ``syncd.availability.query``.
* Inputs: an ``AvailabilityQuery`` of ``ParticipantGroup`` objects of ``Member``
  objects, times as ``Interval`` values (aware datetimes). A member's busy time may
  instead be given as ``(start, end)`` integer microseconds since the Unix epoch (UTC)
  with ``Member.from_microseconds``: same answers, but a large calendar needs no
  datetime objects (this is how the API passes what the store reads).
* ``member_sync_status``: one ``sync_status`` per member from its profiles' statuses.
"""

from syncd.availability.member_status import member_sync_status
from syncd.availability.model import (
    DEFAULT_MAX_RESULTS,
    DEFAULT_START_INTERVAL_MINUTES,
    MAX_RESULTS_CAP,
    AvailabilityQuery,
    AvailableTime,
    Interval,
    Member,
    ParticipantGroup,
    ResponseFormat,
)
from syncd.availability.query import evaluate_availability

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "DEFAULT_START_INTERVAL_MINUTES",
    "MAX_RESULTS_CAP",
    "AvailabilityQuery",
    "AvailableTime",
    "Interval",
    "Member",
    "ParticipantGroup",
    "ResponseFormat",
    "evaluate_availability",
    "member_sync_status",
]
