"""Plain-data inputs and outputs of an availability query.

The HTTP layer parses and validates the Cronofy request into these; the
engine reads nothing else. Constructors raise ``ValueError`` for values that
can never form a sensible query, so the engine never has to guess.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Self

from syncd.availability.intervals import Span
from syncd.availability.rules import WeeklyRule

ResponseFormat = Literal["periods", "slots", "overlapping_slots"]
RESPONSE_FORMATS: tuple[ResponseFormat, ...] = ("periods", "slots", "overlapping_slots")

DEFAULT_START_INTERVAL_MINUTES = 30
DEFAULT_MAX_RESULTS = 256
MAX_RESULTS_CAP = 512


@dataclass(frozen=True, slots=True)
class Interval:
    """Half-open time range ``[start, end)``, stored in UTC.

    Aware datetimes in any zone are accepted and converted to UTC so later
    arithmetic is absolute, never wall-clock. Zero-length intervals are valid.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"interval {name} must be timezone-aware: {value!r}")
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.end < self.start:
            raise ValueError(f"interval ends before it starts: {self.start} > {self.end}")


@dataclass(frozen=True, slots=True)
class Member:
    """One participant: its busy time and, optionally, where it may be booked at all.

    Busy time is the union of ``busy`` (aware intervals) and ``busy_microseconds``
    (``(start, end)`` microseconds since the Unix epoch, UTC): the second form is
    what the store reads cheaply, so a large calendar needs no object per interval.
    ``available_periods=None`` means "anywhere in the query periods"; an empty
    sequence means "nowhere". ``availability_rules`` (managed availability) narrows it
    further to the times inside any of the rules; an empty sequence again means
    "nowhere" (a member asked to follow its rules that has none is never free).
    """

    sub: str
    busy: Sequence[Interval] = ()
    available_periods: Sequence[Interval] | None = None
    busy_microseconds: Sequence[Span] = ()
    availability_rules: Sequence[WeeklyRule] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "busy", tuple(self.busy))
        if self.available_periods is not None:
            object.__setattr__(self, "available_periods", tuple(self.available_periods))
        if self.availability_rules is not None:
            object.__setattr__(self, "availability_rules", tuple(self.availability_rules))
        spans = tuple(self.busy_microseconds)
        reversed_span = next(((start, end) for start, end in spans if end < start), None)
        if reversed_span is not None:
            raise ValueError(f"busy span ends before it starts: {reversed_span}")
        object.__setattr__(self, "busy_microseconds", spans)

    @classmethod
    def from_microseconds(
        cls,
        sub: str,
        busy: Sequence[Span],
        available_periods: Sequence[Interval] | None = None,
        availability_rules: Sequence[WeeklyRule] | None = None,
    ) -> Self:
        """A member whose busy time is ``(start, end)`` microseconds since the epoch (UTC).

        Same answers as ``Member(sub, [Interval(...), ...])`` for the same instants,
        without building a datetime pair per busy interval.
        """
        return cls(
            sub,
            available_periods=available_periods,
            busy_microseconds=busy,
            availability_rules=availability_rules,
        )


@dataclass(frozen=True, slots=True)
class ParticipantGroup:
    """Members of which ``required`` ("all", or at least N) must be free together."""

    members: Sequence[Member]
    required: int | Literal["all"] = "all"

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        if not self.members:
            raise ValueError("a participant group needs at least one member")
        if self.required != "all":
            if isinstance(self.required, bool) or not isinstance(self.required, int):
                raise ValueError(f"required must be 'all' or an integer: {self.required!r}")
            if not 1 <= self.required <= len(self.members):
                raise ValueError(
                    f"required must be between 1 and {len(self.members)}: {self.required}"
                )

    @property
    def required_count(self) -> int:
        """How many members must be free; "all" is every member."""
        return len(self.members) if self.required == "all" else int(self.required)


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    """Everything the engine needs to answer one POST /v1/availability."""

    query_periods: Sequence[Interval]
    participants: Sequence[ParticipantGroup]
    required_duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    start_interval_minutes: int = DEFAULT_START_INTERVAL_MINUTES
    response_format: ResponseFormat = "periods"
    max_results: int = DEFAULT_MAX_RESULTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "query_periods", tuple(self.query_periods))
        object.__setattr__(self, "participants", tuple(self.participants))
        if not self.participants:
            raise ValueError("an availability query needs at least one participant group")
        if self.required_duration_minutes < 1:
            raise ValueError("required_duration_minutes must be at least 1")
        if self.start_interval_minutes < 1:
            raise ValueError("start_interval_minutes must be at least 1")
        if self.buffer_before_minutes < 0 or self.buffer_after_minutes < 0:
            raise ValueError("buffers must not be negative")
        if self.response_format not in RESPONSE_FORMATS:
            raise ValueError(f"unknown response_format: {self.response_format!r}")
        if not 1 <= self.max_results <= MAX_RESULTS_CAP:
            raise ValueError(f"max_results must be between 1 and {MAX_RESULTS_CAP}")


@dataclass(frozen=True, slots=True)
class AvailableTime:
    """One answer: a period or slot, and the subs free for all of it (request order)."""

    start: datetime
    end: datetime
    participants: tuple[str, ...] = field(default=())
