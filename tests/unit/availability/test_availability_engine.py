"""Behaviour of the availability engine, one rule per test.

Times are on 2025-01-21 (UTC) unless a test says otherwise; ``at(9, 30)``
is 09:30Z.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syncd.availability import (
    AvailabilityQuery,
    AvailableTime,
    Interval,
    Member,
    ParticipantGroup,
    evaluate_availability,
    member_sync_status,
)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 21) -> datetime:
    return datetime(2025, 1, day, hour, minute, second, tzinfo=UTC)


def span(start: datetime, end: datetime) -> Interval:
    return Interval(start, end)


def member(
    sub: str, *busy: tuple[datetime, datetime], available: list[Interval] | None = None
) -> Member:
    return Member(sub, [Interval(s, e) for s, e in busy], available)


def query(
    *groups: ParticipantGroup,
    periods: list[Interval] | None = None,
    minutes: int = 60,
    **options: object,
) -> AvailabilityQuery:
    return AvailabilityQuery(
        query_periods=periods if periods is not None else [span(at(9), at(17))],
        participants=list(groups),
        required_duration_minutes=minutes,
        **options,  # type: ignore[arg-type]
    )


def times(results: list[AvailableTime]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Compact, readable form: ("09:00", "10:00", ("A",))."""
    return [(r.start.strftime("%H:%M"), r.end.strftime("%H:%M"), r.participants) for r in results]


# --- required: all / N, groups -------------------------------------------------------------


def test_required_all_returns_only_times_every_member_is_free() -> None:
    alice = member("A", (at(10), at(11)))
    bob = member("B", (at(13), at(14)))
    result = evaluate_availability(query(ParticipantGroup([alice, bob])))
    assert times(result) == [
        ("09:00", "10:00", ("A", "B")),
        ("11:00", "13:00", ("A", "B")),
        ("14:00", "17:00", ("A", "B")),
    ]


def test_required_n_lists_only_the_free_members_as_participants() -> None:
    alice = member("A", (at(9), at(17)))
    bob = member("B")
    carol = member("C", (at(12), at(17)))
    result = evaluate_availability(query(ParticipantGroup([alice, bob, carol], required=1)))
    assert times(result) == [("09:00", "12:00", ("B", "C")), ("09:00", "17:00", ("B",))]


def test_required_n_fails_when_fewer_than_n_members_are_free() -> None:
    alice = member("A", (at(9), at(17)))
    bob = member("B")
    result = evaluate_availability(query(ParticipantGroup([alice, bob], required=2)))
    assert result == []


def test_required_n_periods_keep_every_bookable_meeting_when_free_members_change() -> None:
    # A is free 09-10, B from 09:30: each can take a 60-minute meeting, though no
    # single set of members is free for an hour across the change-over.
    alice = member("A", (at(10), at(17)))
    bob = member("B", (at(9), at(9, 30)))
    result = evaluate_availability(
        query(ParticipantGroup([alice, bob], required=1), periods=[span(at(9), at(12))])
    )
    assert times(result) == [("09:00", "10:00", ("A",)), ("09:30", "12:00", ("B",))]


def test_every_group_requirement_must_hold_at_once() -> None:
    host = member("host", (at(9), at(11)))
    room_a = member("room_a", (at(11), at(13)))
    room_b = member("room_b", (at(11), at(14)))
    result = evaluate_availability(
        query(
            ParticipantGroup([host]),
            ParticipantGroup([room_a, room_b], required=1),
            periods=[span(at(9), at(15))],
        )
    )
    assert times(result) == [
        ("13:00", "15:00", ("host", "room_a")),
        ("14:00", "15:00", ("host", "room_a", "room_b")),
    ]


def test_member_in_two_groups_is_listed_once() -> None:
    alice = member("A")
    bob = member("B", (at(9), at(17)))
    result = evaluate_availability(
        query(ParticipantGroup([alice]), ParticipantGroup([alice, bob], required=1))
    )
    assert times(result) == [("09:00", "17:00", ("A",))]


# --- busy intervals ------------------------------------------------------------------------


def test_zero_length_busy_interval_blocks_nothing() -> None:
    alice = member("A", (at(12), at(12)))
    result = evaluate_availability(query(ParticipantGroup([alice]), buffer_before_minutes=30))
    assert times(result) == [("09:00", "17:00", ("A",))]


def test_touching_busy_intervals_block_as_one() -> None:
    alice = member("A", (at(10), at(11)), (at(11), at(12)))
    result = evaluate_availability(query(ParticipantGroup([alice])))
    assert times(result) == [("09:00", "10:00", ("A",)), ("12:00", "17:00", ("A",))]


def test_overlapping_unsorted_busy_intervals_are_merged() -> None:
    alice = member("A", (at(13), at(14)), (at(10), at(12)), (at(11), at(13, 30)))
    result = evaluate_availability(query(ParticipantGroup([alice])))
    assert times(result) == [("09:00", "10:00", ("A",)), ("14:00", "17:00", ("A",))]


def test_busy_time_outside_the_query_periods_is_ignored() -> None:
    alice = member("A", (at(6), at(9)), (at(8), at(10)), (at(17), at(20)))
    result = evaluate_availability(query(ParticipantGroup([alice])))
    assert times(result) == [("10:00", "17:00", ("A",))]


def test_busy_time_spanning_the_whole_query_leaves_nothing() -> None:
    alice = member("A", (at(0), at(23)))
    assert evaluate_availability(query(ParticipantGroup([alice]))) == []


def test_busy_time_with_seconds_is_used_exactly() -> None:
    alice = member("A", (at(10), at(10, 0, 30)))
    result = evaluate_availability(query(ParticipantGroup([alice])))
    assert [(r.start, r.end) for r in result] == [(at(9), at(10)), (at(10, 0, 30), at(17))]


def micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_busy_time_in_microseconds_blocks_like_intervals() -> None:
    alice = Member.from_microseconds("A", [(micros(at(10)), micros(at(10, 0, 30)))])
    bob = member("B", (at(10), at(10, 0, 30)))
    assert evaluate_availability(query(ParticipantGroup([alice]))) == [
        AvailableTime(r.start, r.end, ("A",))
        for r in evaluate_availability(query(ParticipantGroup([bob])))
    ]


def test_busy_intervals_and_microseconds_of_a_member_both_count() -> None:
    alice = Member(
        "A",
        [Interval(at(10), at(11))],
        busy_microseconds=[(micros(at(13)), micros(at(14))), (micros(at(12)), micros(at(12)))],
    )
    result = evaluate_availability(query(ParticipantGroup([alice])))
    assert times(result) == [
        ("09:00", "10:00", ("A",)),
        ("11:00", "13:00", ("A",)),
        ("14:00", "17:00", ("A",)),
    ]


# --- buffers -------------------------------------------------------------------------------


def test_buffer_before_keeps_meetings_from_starting_right_after_busy_time() -> None:
    alice = member("A", (at(10), at(11)))
    result = evaluate_availability(query(ParticipantGroup([alice]), buffer_before_minutes=15))
    assert times(result) == [("09:00", "10:00", ("A",)), ("11:15", "17:00", ("A",))]


def test_buffer_after_keeps_meetings_from_ending_right_before_busy_time() -> None:
    alice = member("A", (at(11), at(12)))
    result = evaluate_availability(query(ParticipantGroup([alice]), buffer_after_minutes=15))
    assert times(result) == [("09:00", "10:45", ("A",)), ("12:00", "17:00", ("A",))]


def test_buffer_reaches_busy_time_outside_the_query_periods() -> None:
    alice = member("A", (at(8), at(9)), (at(17), at(17, 30)))
    result = evaluate_availability(
        query(ParticipantGroup([alice]), buffer_before_minutes=20, buffer_after_minutes=10)
    )
    assert times(result) == [("09:20", "16:50", ("A",))]


# --- query periods and per-member available periods ---------------------------------------


def test_member_available_periods_restrict_that_member_only() -> None:
    alice = member("A", available=[span(at(13), at(15))])
    bob = member("B")
    result = evaluate_availability(query(ParticipantGroup([alice, bob], required=1)))
    assert times(result) == [("09:00", "17:00", ("B",)), ("13:00", "15:00", ("A", "B"))]


def test_member_available_periods_are_clipped_to_the_query_periods() -> None:
    alice = member("A", available=[span(at(7), at(10))])
    result = evaluate_availability(query(ParticipantGroup([alice])))
    assert times(result) == [("09:00", "10:00", ("A",))]


def test_member_with_empty_available_periods_is_never_free() -> None:
    alice = member("A", available=[])
    assert evaluate_availability(query(ParticipantGroup([alice]))) == []


def test_overlapping_and_touching_query_periods_are_joined() -> None:
    alice = member("A")
    periods = [span(at(9), at(10)), span(at(10), at(11)), span(at(10, 30), at(12))]
    result = evaluate_availability(query(ParticipantGroup([alice]), periods=periods))
    assert times(result) == [("09:00", "12:00", ("A",))]


def test_periods_shorter_than_the_required_duration_are_dropped() -> None:
    alice = member("A", (at(9, 45), at(10)))
    result = evaluate_availability(
        query(ParticipantGroup([alice]), periods=[span(at(9), at(11))], minutes=60)
    )
    assert times(result) == [("10:00", "11:00", ("A",))]


def test_no_query_periods_means_no_availability() -> None:
    assert evaluate_availability(query(ParticipantGroup([member("A")]), periods=[])) == []


def test_query_periods_in_other_zones_are_answered_in_utc() -> None:
    new_york = ZoneInfo("America/New_York")
    local = span(
        datetime(2025, 1, 21, 4, tzinfo=new_york), datetime(2025, 1, 21, 6, tzinfo=new_york)
    )
    result = evaluate_availability(query(ParticipantGroup([member("A")]), periods=[local]))
    assert [(r.start, r.end) for r in result] == [(at(9), at(11))]
    assert result[0].start.tzinfo is UTC


# --- response formats ----------------------------------------------------------------------


def test_slots_are_consecutive_and_do_not_overlap() -> None:
    alice = member("A", (at(11, 30), at(12)))
    result = evaluate_availability(
        query(
            ParticipantGroup([alice]),
            periods=[span(at(9), at(13))],
            minutes=45,
            start_interval_minutes=15,
            response_format="slots",
        )
    )
    assert times(result) == [
        ("09:00", "09:45", ("A",)),
        ("09:45", "10:30", ("A",)),
        ("10:30", "11:15", ("A",)),
        ("12:00", "12:45", ("A",)),
    ]


def test_slot_starts_align_to_the_start_interval_in_utc() -> None:
    alice = member("A", (at(9), at(9, 10)))
    result = evaluate_availability(
        query(
            ParticipantGroup([alice]),
            periods=[span(at(9), at(11, 30))],
            minutes=45,
            start_interval_minutes=30,
            response_format="slots",
        )
    )
    assert times(result) == [("09:30", "10:15", ("A",)), ("10:30", "11:15", ("A",))]


def test_start_interval_defaults_to_30_minutes() -> None:
    result = evaluate_availability(
        query(
            ParticipantGroup([member("A")]),
            periods=[span(at(9, 10), at(10, 30))],
            minutes=15,
            response_format="overlapping_slots",
        )
    )
    assert times(result) == [("09:30", "09:45", ("A",)), ("10:00", "10:15", ("A",))]


def test_overlapping_slots_start_at_every_interval() -> None:
    result = evaluate_availability(
        query(
            ParticipantGroup([member("A")]),
            periods=[span(at(9), at(10, 30))],
            minutes=60,
            start_interval_minutes=15,
            response_format="overlapping_slots",
        )
    )
    assert times(result) == [
        ("09:00", "10:00", ("A",)),
        ("09:15", "10:15", ("A",)),
        ("09:30", "10:30", ("A",)),
    ]


def test_slot_participants_are_the_members_free_for_the_whole_slot() -> None:
    alice = member("A", (at(9, 30), at(10)))
    bob = member("B")
    result = evaluate_availability(
        query(
            ParticipantGroup([alice, bob], required=1),
            periods=[span(at(9), at(11))],
            minutes=30,
            response_format="slots",
        )
    )
    assert times(result) == [
        ("09:00", "09:30", ("A", "B")),
        ("09:30", "10:00", ("B",)),
        ("10:00", "10:30", ("A", "B")),
        ("10:30", "11:00", ("A", "B")),
    ]


def test_results_are_sorted_by_start_across_query_periods() -> None:
    periods = [span(at(14), at(15)), span(at(9), at(10))]
    result = evaluate_availability(
        query(ParticipantGroup([member("A")]), periods=periods, response_format="slots")
    )
    assert times(result) == [("09:00", "10:00", ("A",)), ("14:00", "15:00", ("A",))]


@pytest.mark.parametrize("response_format", ["periods", "slots", "overlapping_slots"])
def test_max_results_keeps_the_earliest_results(response_format: str) -> None:
    alice = member("A", *[(at(hour, 30), at(hour + 1)) for hour in range(9, 17)])
    full = query(
        ParticipantGroup([alice]),
        minutes=30,
        response_format=response_format,
        max_results=512,
    )
    everything = evaluate_availability(full)
    assert len(everything) > 3
    assert evaluate_availability(replace(full, max_results=3)) == everything[:3]


# --- validation of the inputs --------------------------------------------------------------


def test_interval_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2025, 1, 21, 9), at(10))


def test_interval_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Interval(at(10), at(9))


def test_member_rejects_busy_microseconds_ending_before_they_start() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Member.from_microseconds("A", [(micros(at(10)), micros(at(11))), (5, 4)])


@pytest.mark.parametrize("required", [0, 3, True, "some"])
def test_group_rejects_required_outside_one_to_member_count(required: object) -> None:
    with pytest.raises(ValueError, match="required"):
        ParticipantGroup([member("A"), member("B")], required=required)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"minutes": 0},
        {"max_results": 0},
        {"max_results": 513},
        {"start_interval_minutes": 0},
        {"buffer_before_minutes": -1},
        {"response_format": "blocks"},
    ],
)
def test_query_rejects_values_outside_the_documented_range(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        query(ParticipantGroup([member("A")]), **options)  # type: ignore[arg-type]


# --- member sync status --------------------------------------------------------------------


def test_member_status_is_disconnected_if_any_profile_is_disconnected() -> None:
    assert member_sync_status(["active", "disconnected", "pending"]) == "disconnected"


def test_member_status_is_pending_if_any_profile_is_pending() -> None:
    assert member_sync_status(["active", "pending"]) == "pending"


def test_member_status_is_active_when_every_profile_is_active() -> None:
    assert member_sync_status(["active", "active"]) == "active"


def test_member_without_profiles_is_pending() -> None:
    assert member_sync_status([]) == "pending"


def test_unknown_profile_status_counts_as_pending() -> None:
    assert member_sync_status(["active", "refreshing"]) == "pending"


def test_engine_handles_a_month_of_dense_calendars() -> None:
    # 10 members x 5,000 busy intervals: busy the first 4 minutes of every 8.
    start = at(0, day=1)
    members = [
        Member(
            f"acc_{k}",
            [
                Interval(start + timedelta(minutes=8 * i), start + timedelta(minutes=8 * i + 4))
                for i in range(5000)
            ],
        )
        for k in range(10)
    ]
    result = evaluate_availability(
        query(
            ParticipantGroup(members[:5]),
            ParticipantGroup(members[5:], required=2),
            periods=[span(start, start + timedelta(days=30))],
            minutes=4,
            start_interval_minutes=4,
            response_format="slots",
            max_results=512,
        )
    )
    assert [r.start for r in result] == [start + timedelta(minutes=8 * i + 4) for i in range(512)]
    assert {r.participants for r in result} == {tuple(f"acc_{k}" for k in range(10))}
