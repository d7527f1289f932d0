"""Availability engine: pure interval algebra and query evaluation, no I/O."""

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
