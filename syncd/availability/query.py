"""Evaluate an availability query: which times can a meeting go, and with whom.

Semantics (the engine's contract):

* Times are exact: no rounding, any aware datetime works. Internally every
  instant is an integer count of microseconds since the Unix epoch; busy time
  may be given in that form directly (``Member.from_microseconds``), with the
  same meaning as the equivalent intervals.
* Overlapping or touching query periods are joined into one.
* A member can attend a meeting ``[m0, m1)`` when ``[m0, m1)`` lies inside the
  query periods (and inside its ``available_periods`` if given) and no busy
  interval of positive length intersects ``[m0 - buffer_before, m1 +
  buffer_after)``. Buffers may reach outside the query periods; zero-length
  busy intervals block nothing.
* A member with ``availability_rules`` can attend only inside one of them (see
  ``syncd.availability.rules``: the wall clock of each rule's zone, across clock
  changes); buffers may still reach outside the rules.
* A set of free members *qualifies* when, in every group, at least the
  group's required count of its members is in the set.
* ``periods``: every maximal run of time ``P`` with length at least the
  required duration whose set of members free throughout ``P`` qualifies; that
  set is the period's participants. Any meeting of the required duration inside
  ``P`` works for all of them, and every possible meeting lies inside some
  period. With ``required: "all"`` periods never overlap; with "N of M" groups
  they may (e.g. 09-12 with A alone and 10-11 with A and B).
* ``overlapping_slots``: every ``[t, t + required_duration)`` whose start is a
  multiple of ``start_interval`` since the Unix epoch (so :00/:30 for 30
  minutes) and whose set of members free throughout qualifies.
* ``slots``: the same candidates taken greedily from the earliest, skipping any
  that overlap the previously taken slot, so slots never overlap.
* Results are sorted by start (then end) and cut to ``max_results``.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain

from syncd.availability.intervals import (
    Span,
    intersect_intervals,
    membership_steps,
    merge_intervals,
    subtract_intervals,
    widen_intervals,
)
from syncd.availability.model import AvailabilityQuery, AvailableTime, Interval, Member
from syncd.availability.rules import rule_spans

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MINUTE = 60_000_000


def evaluate_availability(query: AvailabilityQuery) -> list[AvailableTime]:
    """Answer ``query`` in its response format, sorted by start, at most ``max_results``."""
    members = [member for group in query.participants for member in group.members]
    group_masks = _group_masks(query)
    query_spans = merge_intervals(_to_spans(query.query_periods))
    free_spans = [_free_spans(member, query_spans, query) for member in members]
    runs = _qualifying_runs(free_spans, group_masks, query.required_duration_minutes * _MINUTE)

    found = sorted(runs) if query.response_format == "periods" else _slots(runs, query)
    subs = [member.sub for member in members]
    return [
        AvailableTime(_to_datetime(start), _to_datetime(end), _participants(mask, subs))
        for start, end, mask in found[: query.max_results]
    ]


def _group_masks(query: AvailabilityQuery) -> list[tuple[int, int]]:
    """(bitmask of the group's members, required count) per group, bits in member order."""
    masks: list[tuple[int, int]] = []
    bit = 0
    for group in query.participants:
        mask = ((1 << len(group.members)) - 1) << bit
        masks.append((mask, group.required_count))
        bit += len(group.members)
    return masks


def _free_spans(member: Member, query_spans: list[Span], query: AvailabilityQuery) -> list[Span]:
    """Where a meeting may occupy time for this member (buffers folded into busy time).

    A meeting ``[m0, m1)`` must avoid busy ``[s, e)`` widened by the buffers,
    which is the same as the meeting avoiding ``[s - after, e + before)``.
    """
    bookable = query_spans
    if member.available_periods is not None:
        bookable = intersect_intervals(
            bookable, merge_intervals(_to_spans(member.available_periods))
        )
    if member.availability_rules is not None and bookable:
        window_start, window_end = _to_datetime(bookable[0][0]), _to_datetime(bookable[-1][1])
        bookable = intersect_intervals(
            bookable, rule_spans(member.availability_rules, window_start, window_end)
        )
    blocked = widen_intervals(
        chain(_to_spans(member.busy), member.busy_microseconds),
        before=query.buffer_after_minutes * _MINUTE,
        after=query.buffer_before_minutes * _MINUTE,
    )
    return subtract_intervals(bookable, blocked)


def _qualifying_runs(
    free_spans: list[list[Span]], group_masks: list[tuple[int, int]], min_length: int
) -> list[tuple[int, int, int]]:
    """Maximal ``(start, end, members)`` runs whose members are exactly those free throughout.

    Sweeps the step function of free members once. For the runs still open
    at a point, the sets "members free since s" form a chain (an earlier s can
    only mean fewer members), so at most one open run per member exists; each
    maps its member set to its earliest start. A run closes when one of its
    members stops being free; it continues as the smaller set if that set still
    qualifies (smaller sets never qualify if larger ones don't, so pruning
    non-qualifying sets loses nothing).
    """
    qualifies_cache: dict[int, bool] = {}

    def qualifies(mask: int) -> bool:
        known = qualifies_cache.get(mask)
        if known is None:
            known = all((mask & group).bit_count() >= need for group, need in group_masks)
            qualifies_cache[mask] = known
        return known

    runs: list[tuple[int, int, int]] = []
    open_runs: dict[int, int] = {}
    for point, free_mask in membership_steps(free_spans):
        still_open: dict[int, int] = {}
        for mask, start in open_runs.items():
            remaining = mask & free_mask
            if remaining == mask:
                still_open[mask] = start
                continue
            if point - start >= min_length:
                runs.append((start, point, mask))
            if remaining and qualifies(remaining):
                still_open[remaining] = min(start, still_open.get(remaining, start))
        if free_mask not in still_open and qualifies(free_mask):
            still_open[free_mask] = point
        open_runs = still_open
    return runs


def _slots(
    runs: list[tuple[int, int, int]], query: AvailabilityQuery
) -> list[tuple[int, int, int]]:
    """Aligned slots of the required duration inside the runs, in start order.

    A slot's participants are everyone free throughout it, which is the union
    of the member sets of all runs containing it (the run of exactly that set
    is among them, and every other is a subset).
    """
    duration = query.required_duration_minutes * _MINUTE
    step = query.start_interval_minutes * _MINUTE
    members_by_start: dict[int, int] = {}
    for start, end, mask in runs:
        slot_start = -(-start // step) * step
        while slot_start + duration <= end:
            members_by_start[slot_start] = members_by_start.get(slot_start, 0) | mask
            slot_start += step
    slots: list[tuple[int, int, int]] = []
    for slot_start in sorted(members_by_start):
        if query.response_format == "slots" and slots and slot_start < slots[-1][1]:
            continue
        slots.append((slot_start, slot_start + duration, members_by_start[slot_start]))
        if len(slots) >= query.max_results:
            break
    return slots


def _participants(mask: int, subs: list[str]) -> tuple[str, ...]:
    """Subs of the members in ``mask``, in request order, each once."""
    chosen = (sub for index, sub in enumerate(subs) if mask >> index & 1)
    return tuple(dict.fromkeys(chosen))


def _to_spans(intervals: Sequence[Interval]) -> list[Span]:
    """Intervals as microseconds since the epoch (inlined: this is the hot loop)."""
    epoch, unit = _EPOCH, _MICROSECOND
    return [((i.start - epoch) // unit, (i.end - epoch) // unit) for i in intervals]


def _to_datetime(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)
