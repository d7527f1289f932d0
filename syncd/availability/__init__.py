"""Availability engine: pure interval algebra and query evaluation, no I/O.

Public API:

* ``evaluate_availability(AvailabilityQuery) -> list[AvailableTime]``: the one
  entry point; its semantics are documented in ``syncd.availability.query``.
* Inputs: an ``AvailabilityQuery`` of ``ParticipantGroup`` objects of ``Member``
  objects, times as ``Interval`` values (aware datetimes). A member's busy time may
  instead be given as ``(start, end)`` integer microseconds since the Unix epoch (UTC)
  with ``Member.from_microseconds``: same answers, but a large calendar needs no
  datetime objects (this is how the API passes what the store reads).
* ``WeeklyRule`` / ``rule_spans``: availability rules (working hours) on a zone's wall
  clock; a ``Member`` given ``availability_rules`` is free only inside them.
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
from syncd.availability.rules import (
    WEEKDAYS,
    WeeklyPeriod,
    WeeklyRule,
    format_clock,
    parse_clock,
    rule_spans,
    zone_for,
)
from syncd.availability.sequence import StepCandidates, chain_sequences

__all__ = [
    "StepCandidates",
    "chain_sequences",
    "WEEKDAYS",
    "WeeklyPeriod",
    "WeeklyRule",
    "format_clock",
    "parse_clock",
    "rule_spans",
    "zone_for",
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
