"""The availability engine agrees with a brute-force, minute-by-minute oracle.

The oracle below is written from the specification alone and uses none of
the engine's helpers: it marks every minute of the horizon usable or not for each
member, then finds periods and slots by scanning minutes. Busy intervals are
random (overlapping, touching, zero-length, reaching outside the query), and
some are written as wall-clock times in a daylight-saving zone around a
clock change. The interval helpers are also checked on their own, against
sets of integer points.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.availability import (
    AvailabilityQuery,
    Interval,
    Member,
    ParticipantGroup,
    evaluate_availability,
)
from syncd.availability.intervals import (
    intersect_intervals,
    membership_steps,
    merge_intervals,
    subtract_intervals,
    widen_intervals,
)

HORIZON_MINUTES = 36 * 60
MINUTE = timedelta(minutes=1)

# (zone, a UTC start for the horizon) where the horizon spans a clock change.
DST_SCENARIOS = [
    ("America/New_York", datetime(2024, 3, 9, 19, 0, tzinfo=UTC)),  # spring forward 03-10 07:00Z
    ("America/New_York", datetime(2024, 11, 2, 18, 0, tzinfo=UTC)),  # fall back 11-03 06:00Z
    ("Europe/London", datetime(2024, 3, 30, 13, 0, tzinfo=UTC)),  # spring forward 03-31 01:00Z
    ("Europe/London", datetime(2024, 10, 26, 13, 0, tzinfo=UTC)),  # fall back 10-27 01:00Z
]


@dataclass(frozen=True)
class OracleMember:
    """A member as the oracle sees it: minute offsets from the horizon start."""

    sub: str
    busy: list[tuple[int, int]]
    available: list[tuple[int, int]] | None


@dataclass(frozen=True)
class Case:
    """One generated query, in both the engine's form and the oracle's form."""

    query: AvailabilityQuery
    base: datetime
    query_periods: list[tuple[int, int]]
    groups: list[tuple[list[OracleMember], int | str]]


def minutes_after(base: datetime, moment: datetime) -> int:
    """Whole minutes from ``base`` to ``moment``; the generated data is whole minutes."""
    seconds = (moment.astimezone(UTC) - base).total_seconds()
    assert seconds % 60 == 0
    return int(seconds // 60)


@st.composite
def moments(draw: st.DrawFn, base: datetime, zone: ZoneInfo, low: int, high: int) -> datetime:
    """An aware instant near the horizon: UTC minutes, or local wall time in ``zone``.

    Local wall times are taken as written (``fold`` chosen at random), so
    times in the spring-forward gap and the fall-back overlap both occur.
    """
    coarse = st.integers(low // 15, high // 15).map(lambda quarter: quarter * 15)
    offset = draw(st.one_of(coarse, st.integers(low, high)))
    if draw(st.booleans()):
        return base + offset * MINUTE
    local_base = base.astimezone(zone).replace(tzinfo=None)
    wall = local_base + offset * MINUTE
    return wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1)))


@st.composite
def intervals(
    draw: st.DrawFn,
    base: datetime,
    zone: ZoneInfo,
    low: int,
    high: int,
    lengths: st.SearchStrategy[int],
) -> Interval:
    """An interval starting in ``[low, high]`` minutes after ``base``, in UTC or local time."""
    start = draw(moments(base, zone, low, high))
    length = draw(lengths)
    if start.tzinfo is UTC:
        end = start + length * MINUTE
    else:  # wall-clock length, so the interval may straddle the clock change
        wall_end = start.replace(tzinfo=None) + length * MINUTE
        end = wall_end.replace(tzinfo=zone, fold=draw(st.integers(0, 1)))
    # Same-zone datetimes compare by wall time, ignoring fold, so order them in UTC.
    first, second = sorted((start, end), key=lambda moment: moment.astimezone(UTC))
    return Interval(first, second)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone_name, base = draw(st.sampled_from(DST_SCENARIOS))
    zone = ZoneInfo(zone_name)
    horizon = HORIZON_MINUTES

    def period() -> st.SearchStrategy[Interval]:
        lengths = st.integers(0, horizon) | st.integers(6 * 60, horizon)
        return intervals(base, zone, 0, horizon // 2, lengths).filter(
            lambda i: minutes_after(base, i.end) <= horizon and minutes_after(base, i.start) >= 0
        )

    query_periods = draw(st.lists(period(), min_size=1, max_size=3))
    member_count = draw(st.integers(1, 5))
    members: list[Member] = []
    for index in range(member_count):
        busy_lengths = st.sampled_from([0, 0, 15, 30, 60, 90]) | st.integers(0, 240)
        busy = draw(st.lists(intervals(base, zone, -120, horizon + 120, busy_lengths), max_size=10))
        # Touching neighbours: some busy intervals start exactly where another ends.
        touching = [
            Interval(b.end, b.end + draw(st.integers(0, 60)) * MINUTE)
            for b in busy
            if draw(st.integers(0, 3)) == 0
        ]
        restricted = draw(st.integers(0, 2)) == 0
        available = draw(st.lists(period(), max_size=3)) if restricted else None
        members.append(Member(f"acc_{index}", busy + touching, available))

    split = draw(st.integers(1, member_count))
    member_groups = [members[:split], members[split:]] if split < member_count else [members]
    groups = [
        ParticipantGroup(group, draw(st.just("all") | st.integers(1, len(group))))
        for group in member_groups
    ]
    query = AvailabilityQuery(
        query_periods=query_periods,
        participants=groups,
        required_duration_minutes=draw(
            st.sampled_from([1, 15, 30, 45, 60, 90, 120]) | st.integers(1, 150)
        ),
        buffer_before_minutes=draw(st.sampled_from([0, 0, 10, 15, 30]) | st.integers(0, 90)),
        buffer_after_minutes=draw(st.sampled_from([0, 0, 10, 15, 30]) | st.integers(0, 90)),
        start_interval_minutes=draw(st.sampled_from([1, 5, 7, 10, 15, 30, 45, 60])),
        response_format=draw(st.sampled_from(["periods", "slots", "overlapping_slots"])),
        max_results=draw(st.just(512) | st.integers(1, 12)),
    )

    def spans(values: list[Interval]) -> list[tuple[int, int]]:
        return [(minutes_after(base, i.start), minutes_after(base, i.end)) for i in values]

    oracle_groups = [
        (
            [
                OracleMember(
                    m.sub,
                    spans(list(m.busy)),
                    None if m.available_periods is None else spans(list(m.available_periods)),
                )
                for m in group.members
            ],
            group.required,
        )
        for group in groups
    ]
    return Case(query, base, spans(query_periods), oracle_groups)


Minutes = list[list[bool]]
Answer = list[tuple[int, int, tuple[str, ...]]]


def oracle(case: Case) -> Answer:
    """Brute force: decide every minute for every member, then scan minutes."""
    members = [member for group_members, _ in case.groups for member in group_members]
    in_query = [in_any(minute, case.query_periods) for minute in range(HORIZON_MINUTES)]
    free = [free_minutes(case, member, in_query) for member in members]
    if case.query.response_format == "periods":
        results = oracle_periods(case, members, free)
    else:
        results = oracle_slots(case, members, free)
    results.sort()
    return results[: case.query.max_results]


def in_any(minute: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= minute < end for start, end in spans)


def free_minutes(case: Case, member: OracleMember, in_query: list[bool]) -> list[bool]:
    """For every minute of the horizon: may a meeting use it, for this member?"""
    before, after = case.query.buffer_before_minutes, case.query.buffer_after_minutes

    def usable(minute: int) -> bool:
        # Meeting minute [m, m+1) needs no busy time within [m - before, m + 1 + after).
        if not in_query[minute]:
            return False
        if member.available is not None and not in_any(minute, member.available):
            return False
        return not any(
            start < end and start < minute + 1 + after and minute - before < end
            for start, end in member.busy
        )

    return [usable(minute) for minute in range(HORIZON_MINUTES)]


def satisfied(case: Case, chosen: set[int]) -> bool:
    """Whether the members ``chosen`` (indexes in group order) meet every group's need."""
    position = 0
    for group_members, required in case.groups:
        indexes = range(position, position + len(group_members))
        need = len(group_members) if required == "all" else required
        if sum(1 for index in indexes if index in chosen) < need:
            return False
        position += len(group_members)
    return True


def free_throughout(free: Minutes, start: int, end: int) -> set[int]:
    return {k for k in range(len(free)) if all(free[k][start:end])}


def subs(members: list[OracleMember], chosen: set[int]) -> tuple[str, ...]:
    return tuple(members[k].sub for k in sorted(chosen))


def oracle_periods(case: Case, members: list[OracleMember], free: Minutes) -> Answer:
    """Every maximal run, at least the duration long, that exactly a satisfying set shares."""
    results: Answer = []
    for bits in range(1, 1 << len(members)):
        chosen = {k for k in range(len(members)) if bits >> k & 1}
        if satisfied(case, chosen):
            results += [
                (run_start, run_end, subs(members, chosen))
                for run_start, run_end in shared_runs(free, chosen)
                if run_end - run_start >= case.query.required_duration_minutes
                and free_throughout(free, run_start, run_end) == chosen
            ]
    return results


def shared_runs(free: Minutes, chosen: set[int]) -> list[tuple[int, int]]:
    """The maximal runs of minutes free for every member in ``chosen``."""
    runs: list[tuple[int, int]] = []
    minute = 0
    while minute < HORIZON_MINUTES:
        if not all(free[k][minute] for k in chosen):
            minute += 1
            continue
        run_start = minute
        while minute < HORIZON_MINUTES and all(free[k][minute] for k in chosen):
            minute += 1
        runs.append((run_start, minute))
    return runs


def oracle_slots(case: Case, members: list[OracleMember], free: Minutes) -> Answer:
    """Slots on the start interval; ``slots`` never overlap, ``overlapping_slots`` may."""
    query = case.query
    duration = query.required_duration_minutes
    base_epoch_minute = int(case.base.timestamp()) // 60
    results: Answer = []
    last_end = None
    for start in range(HORIZON_MINUTES - duration + 1):
        if (base_epoch_minute + start) % query.start_interval_minutes != 0:
            continue
        chosen = free_throughout(free, start, start + duration)
        if not satisfied(case, chosen):
            continue
        if query.response_format == "slots" and last_end is not None and start < last_end:
            continue
        results.append((start, start + duration, subs(members, chosen)))
        last_end = start + duration
    return results


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(cases())
def test_engine_matches_minute_by_minute_oracle(case: Case) -> None:
    answer = evaluate_availability(case.query)
    assert [
        (minutes_after(case.base, a.start), minutes_after(case.base, a.end), a.participants)
        for a in answer
    ] == oracle(case)
    assert all(a.start.tzinfo is UTC and a.end.tzinfo is UTC for a in answer)


def as_microseconds(interval: Interval) -> tuple[int, int]:
    unit = timedelta(microseconds=1)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (interval.start - epoch) // unit, (interval.end - epoch) // unit


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(cases(), st.data())
def test_busy_time_as_microseconds_gives_the_same_answers_as_intervals(
    case: Case, data: st.DataObject
) -> None:
    """``Member.from_microseconds`` (what the API uses) and ``Member`` with intervals agree,
    also when a member's busy time is split between the two forms."""

    def converted(member: Member) -> Member:
        how = data.draw(st.sampled_from(["microseconds", "split"]))
        if how == "microseconds":
            spans = [as_microseconds(b) for b in member.busy]
            return Member.from_microseconds(member.sub, spans, member.available_periods)
        cut = data.draw(st.integers(0, len(member.busy)))
        return Member(
            member.sub,
            member.busy[:cut],
            member.available_periods,
            busy_microseconds=[as_microseconds(b) for b in member.busy[cut:]],
        )

    groups = [
        replace(group, members=[converted(m) for m in group.members])
        for group in case.query.participants
    ]
    assert evaluate_availability(replace(case.query, participants=groups)) == (
        evaluate_availability(case.query)
    )


# --- the interval algebra itself, against sets of integer points -----------------------------

raw_spans = st.lists(st.tuples(st.integers(-5, 40), st.integers(-5, 40)), max_size=8)


def points(spans: list[tuple[int, int]]) -> set[int]:
    return {point for start, end in spans for point in range(start, end)}


def is_span_list(spans: list[tuple[int, int]]) -> bool:
    """Sorted, non-empty spans that neither overlap nor touch."""
    return all(start < end for start, end in spans) and all(
        left[1] < right[0] for left, right in zip(spans, spans[1:], strict=False)
    )


@settings(max_examples=300, deadline=None)
@given(raw_spans, raw_spans)
def test_span_operations_match_set_operations(
    left: list[tuple[int, int]], right: list[tuple[int, int]]
) -> None:
    merged_left, merged_right = merge_intervals(left), merge_intervals(right)
    assert is_span_list(merged_left) and points(merged_left) == points(left)
    intersection = intersect_intervals(merged_left, merged_right)
    difference = subtract_intervals(merged_left, merged_right)
    assert is_span_list(intersection) and points(intersection) == points(left) & points(right)
    assert is_span_list(difference) and points(difference) == points(left) - points(right)


@settings(max_examples=300, deadline=None)
@given(raw_spans, st.integers(0, 6), st.integers(0, 6))
def test_widening_grows_each_non_empty_span(
    spans: list[tuple[int, int]], before: int, after: int
) -> None:
    expected = points([(s - before, e + after) for s, e in spans if s < e])
    assert points(widen_intervals(spans, before, after)) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_spans, min_size=1, max_size=4), st.integers(-5, 45))
def test_membership_steps_give_the_lists_containing_each_point(
    span_lists: list[list[tuple[int, int]]], probe: int
) -> None:
    normalized = [merge_intervals(spans) for spans in span_lists]
    expected = sum(1 << k for k, spans in enumerate(normalized) if probe in points(spans))
    steps = membership_steps(normalized)
    active = [mask for point, mask in steps if point <= probe]
    assert (active[-1] if active else 0) == expected
