"""Managed availability across a daylight-saving week agrees with a brute-force oracle.

The oracle is written from the specification alone: an instant is inside a rule when
the local weekday and wall-clock time in the rule's zone at that instant fall inside one
of the rule's weekly periods. It decides that minute by minute with ``zoneinfo`` and
nothing else; the engine's answers for members following random rules (and with random
busy time) must match it, in weeks that contain a clock change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.availability import (
    WEEKDAYS,
    AvailabilityQuery,
    Interval,
    Member,
    ParticipantGroup,
    WeeklyPeriod,
    WeeklyRule,
    evaluate_availability,
    rule_spans,
)

MINUTE = timedelta(minutes=1)
WEEK_MINUTES = 7 * 24 * 60

#: (zone, a UTC start) for weeks that hold a clock change; the rule's zone differs
#: from UTC by a changing offset, and the query runs Monday to Monday around it.
DST_WEEKS = [
    ("America/New_York", datetime(2024, 3, 6, 0, 0, tzinfo=UTC)),  # spring forward 03-10
    ("America/New_York", datetime(2024, 10, 30, 0, 0, tzinfo=UTC)),  # fall back 11-03
    ("Europe/London", datetime(2024, 3, 27, 0, 0, tzinfo=UTC)),  # spring forward 03-31
    ("Europe/London", datetime(2024, 10, 23, 0, 0, tzinfo=UTC)),  # fall back 10-27
    ("Australia/Lord_Howe", datetime(2024, 4, 3, 0, 0, tzinfo=UTC)),  # 30-minute change
]

# Periods near the change times (01:00–03:00 local) are the interesting ones.
clock_minutes = st.sampled_from([0, 60, 90, 120, 150, 180, 540, 720, 1020]) | st.integers(
    0, 24 * 60
)


@st.composite
def weekly_periods(draw: st.DrawFn) -> WeeklyPeriod:
    start = draw(clock_minutes.filter(lambda m: m < 24 * 60))
    end = draw(st.integers(start + 1, 24 * 60))
    return WeeklyPeriod(draw(st.sampled_from(WEEKDAYS)), start, end)


@st.composite
def rules(draw: st.DrawFn, zone: str) -> WeeklyRule:
    return WeeklyRule(zone, draw(st.lists(weekly_periods(), min_size=0, max_size=6)))


def inside_rule_oracle(rule: WeeklyRule, moment: datetime) -> bool:
    """The specification, read literally, for one instant."""
    local = moment.astimezone(ZoneInfo(rule.tzid))
    minute_of_day = local.hour * 60 + local.minute
    return any(
        WEEKDAYS[local.weekday()] == period.day
        and period.start_minute <= minute_of_day < period.end_minute
        for period in rule.periods
    )


def minutes_inside(spans: list[tuple[int, int]], base: datetime) -> set[int]:
    base_us = int(base.timestamp()) * 1_000_000
    inside: set[int] = set()
    for start, end in spans:
        first = (start - base_us) // 60_000_000
        last = -(-(end - base_us) // 60_000_000)
        inside.update(minute for minute in range(first, last) if 0 <= minute < WEEK_MINUTES)
    return inside


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rule_instants_match_the_wall_clock_minute_by_minute(data: st.DataObject) -> None:
    zone, base = data.draw(st.sampled_from(DST_WEEKS))
    rule = data.draw(rules(zone))
    spans = rule_spans([rule], base, base + WEEK_MINUTES * MINUTE)
    expected = {
        minute for minute in range(WEEK_MINUTES) if inside_rule_oracle(rule, base + minute * MINUTE)
    }
    assert minutes_inside(spans, base) == expected
    # Every boundary is a whole minute here, so "minutes touched" is exact.
    assert all(start % 60_000_000 == 0 and end % 60_000_000 == 0 for start, end in spans)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_managed_members_are_free_only_inside_their_rules_across_a_dst_week(
    data: st.DataObject,
) -> None:
    zone, base = data.draw(st.sampled_from(DST_WEEKS))
    member_rules = [data.draw(rules(zone)) for _ in range(2)]
    busy = [
        [
            Interval(base + s * MINUTE, base + (s + length) * MINUTE)
            for s, length in data.draw(
                st.lists(st.tuples(st.integers(0, WEEK_MINUTES), st.integers(0, 240)), max_size=6)
            )
        ]
        for _ in range(2)
    ]
    duration = data.draw(st.sampled_from([15, 30, 60]))
    interval = data.draw(st.sampled_from([15, 30, 60]))
    query = AvailabilityQuery(
        query_periods=[Interval(base, base + WEEK_MINUTES * MINUTE)],
        participants=[
            ParticipantGroup(
                [
                    Member(f"acc_{k}", busy[k], availability_rules=[member_rules[k]])
                    for k in range(2)
                ]
            )
        ],
        required_duration_minutes=duration,
        start_interval_minutes=interval,
        response_format="overlapping_slots",
        max_results=512,
    )
    answer = [
        (int((a.start - base) / MINUTE), int((a.end - base) / MINUTE))
        for a in evaluate_availability(query)
    ]

    def free(k: int, minute: int) -> bool:
        moment = base + minute * MINUTE
        return inside_rule_oracle(member_rules[k], moment) and not any(
            b.start <= moment < b.end for b in busy[k]
        )

    expected = [
        (start, start + duration)
        for start in range(0, WEEK_MINUTES - duration + 1, interval)
        if all(free(k, m) for k in range(2) for m in range(start, start + duration))
    ][:512]
    assert answer == expected


def test_a_nine_to_five_rule_follows_the_local_clock_over_spring_forward() -> None:
    rule = WeeklyRule(
        "America/New_York",
        [WeeklyPeriod(day, 9 * 60, 17 * 60) for day in ("friday", "monday")],
    )
    base = datetime(2024, 3, 8, tzinfo=UTC)  # Friday before, Monday after 03-10
    spans = rule_spans([rule], base, base + timedelta(days=4))
    as_utc = [
        (datetime.fromtimestamp(s / 1e6, UTC), datetime.fromtimestamp(e / 1e6, UTC))
        for s, e in spans
    ]
    assert as_utc == [
        (datetime(2024, 3, 8, 14, tzinfo=UTC), datetime(2024, 3, 8, 22, tzinfo=UTC)),  # EST
        (datetime(2024, 3, 11, 13, tzinfo=UTC), datetime(2024, 3, 11, 21, tzinfo=UTC)),  # EDT
    ]


def test_a_member_following_no_rules_is_never_free() -> None:
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)
    query = AvailabilityQuery(
        query_periods=[Interval(start, start + timedelta(hours=8))],
        participants=[ParticipantGroup([Member("acc_a", availability_rules=[])])],
        required_duration_minutes=30,
    )
    assert evaluate_availability(query) == []
