"""Answer a Cronofy availability query from the store: the one place a query is assembled.

``POST /v1/availability``, ``POST /v1/sequenced_availability``, Real-Time Scheduling
links and the booking page all come here: limits and tenancy are checked, busy time is
read in one range read (integer microseconds, handed to the engine as they are), managed
availability brings in the members' rules, and every answer is computed by
``syncd.availability``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

from sqlmodel import Session

from syncd.availability import (
    DEFAULT_START_INTERVAL_MINUTES,
    AvailabilityQuery,
    AvailableTime,
    Interval,
    Member,
    ParticipantGroup,
    ResponseFormat,
    StepCandidates,
    WeeklyRule,
    chain_sequences,
    evaluate_availability,
    member_sync_status,
)
from syncd.cronofy.availability import (
    MAX_QUERY_SPAN_DAYS,
    START_INTERVALS,
    AvailabilityRequest,
    Buffer,
    Duration,
    MemberQuery,
    ParticipantGroupQuery,
    Period,
    QuerySlot,
    SequencedAvailabilityRequest,
    SequenceStep,
)
from syncd.errors import FieldErrors
from syncd.statuses import SyncStatus
from syncd.store.availability_rules import rules_by_account, weekly_rule
from syncd.store.events import read_busy_microseconds
from syncd.store.models import AvailabilityRule
from syncd.store.queries import (
    accounts_of_application,
    calendar_ids_by_account,
    profiles_by_account,
)
from syncd.store.scheduling import holds_by_account
from syncd.sync.status import effective_status

_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Asker:
    """Who asks: an application (any of its accounts may be a member), or one account
    (only itself)."""

    application_id: str
    account_id: str | None = None


@dataclass
class AvailabilityAnswer:
    found: list[AvailableTime]
    response_format: ResponseFormat
    member_statuses: list[tuple[str, SyncStatus]] | None = None


@dataclass
class _Members:
    """Everything read from the store for a set of participant groups."""

    groups: list[ParticipantGroup] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)


def answer_availability(
    session: Session,
    asker: Asker,
    body: AvailabilityRequest,
    now: dt.datetime,
    staleness_bound: float,
    not_before: dt.datetime | None = None,
) -> AvailabilityAnswer:
    """Answer ``body``; with ``not_before`` nothing starts earlier (minimum notice)."""
    check_availability_request(body)
    before, after = _buffers(body.buffer)
    periods = _periods(body.periods(), body.query_slots, body.required_duration.minutes)
    periods = _clip(periods, not_before)
    members = _read_members(
        session, asker, body.participants, "participants", periods, before, after
    )
    fmt: ResponseFormat = body.response_format or "periods"
    if body.query_slots:
        found = _check_slots(body, members, periods, before, after)
        fmt = "slots"
    elif not periods:
        found = []
    else:
        found = evaluate_availability(
            AvailabilityQuery(
                query_periods=periods,
                participants=members.groups,
                required_duration_minutes=body.required_duration.minutes,
                buffer_before_minutes=before,
                buffer_after_minutes=after,
                start_interval_minutes=_start_interval(body.start_interval),
                response_format=fmt,
                max_results=body.effective_max_results(),
            )
        )
    statuses = (
        member_statuses(session, members.subs, now, staleness_bound)
        if body.include_member_statuses
        else None
    )
    return AvailabilityAnswer(found, fmt, statuses)


def answer_sequenced(
    session: Session, asker: Asker, body: SequencedAvailabilityRequest
) -> list[list[tuple[str, AvailableTime]]]:
    """Sequences of ``(sequence_id, slot)``, steps in ``ordinal`` order."""
    problems = FieldErrors()
    if not body.periods():
        problems.add("query_periods", "errors.required", "query_periods must be given")
    _check_pairs(problems, "query_periods", body.periods())
    _check_span(problems, "query_periods", body.periods())
    ordinals = [step.ordinal for step in body.sequence]
    if any(o is not None for o in ordinals) and len(set(ordinals)) != len(ordinals):
        problems.add("sequence", "errors.invalid", "each step needs its own ordinal")
    for index, step in enumerate(body.sequence):
        where = f"sequence[{index}]"
        _check_duration(problems, f"{where}.required_duration", step.required_duration.minutes)
        _check_interval(problems, f"{where}.start_interval", step.start_interval)
        _check_pairs(problems, f"{where}.available_periods", step.available_periods)
        _check_groups(problems, f"{where}.participants", step.participants)
    problems.raise_if_any()
    order = sorted(
        range(len(body.sequence)),
        key=lambda i: (body.sequence[i].ordinal is None, body.sequence[i].ordinal or 0, i),
    )
    steps = [body.sequence[i] for i in order]
    candidates: list[StepCandidates] = []
    for position, step in enumerate(steps):
        before, after = _buffers(step.buffer)
        periods = [Interval(p.start, p.end) for p in (step.available_periods or body.periods())]
        members = _read_members(
            session,
            asker,
            step.participants,
            f"sequence[{order[position]}].participants",
            periods,
            before,
            after,
        )
        slots = evaluate_availability(
            AvailabilityQuery(
                query_periods=periods,
                participants=members.groups,
                required_duration_minutes=step.required_duration.minutes,
                buffer_before_minutes=before,
                buffer_after_minutes=after,
                start_interval_minutes=_start_interval(step.start_interval),
                response_format="overlapping_slots",
                max_results=512,
            )
        )
        candidates.append(_gaps(slots, steps[position - 1] if position else None, step))
    chains = chain_sequences(candidates, body.max_results or 10)
    return [[(steps[i].sequence_id, slot) for i, slot in enumerate(c)] for c in chains]


def _gaps(
    slots: list[AvailableTime], previous: SequenceStep | None, step: SequenceStep
) -> StepCandidates:
    """The gap before ``step``: at least the larger of the previous step's ``after``
    and this step's ``before`` buffer (or their ``minimum``), at most this step's
    ``before.maximum`` (or the previous step's ``after.maximum``)."""
    if previous is None:
        return StepCandidates(slots)
    lows = [0]
    highs: list[int] = []
    sides = (
        previous.buffer.after if previous.buffer else None,
        step.buffer.before if step.buffer else None,
    )
    for side in sides:
        if side is None:
            continue
        lows.append(side.minutes)
        if side.minimum is not None:
            lows.append(side.minimum.minutes)
        if side.maximum is not None:
            highs.append(side.maximum.minutes)
    low = max(lows)
    high = min(highs) if highs else None
    return StepCandidates(
        slots,
        min_gap=low * _MINUTE,
        max_gap=None if high is None else max(high, low) * _MINUTE,
    )


def check_availability_request(body: AvailabilityRequest) -> None:
    """The documented limits and relations pydantic cannot express; all reported at once."""
    problems = FieldErrors()
    if body.query_slots:
        if body.periods():
            problems.add(
                "query_slots", "errors.invalid", "give query_slots or query_periods, not both"
            )
        for index, slot in enumerate(body.query_slots):
            if slot.start.second or slot.start.microsecond:
                problems.add(f"query_slots[{index}].start", "errors.invalid", "whole minutes only")
    elif not body.periods():
        problems.add("query_periods", "errors.required", "query_periods must be given")
    for name, periods in (
        ("query_periods", body.query_periods),
        ("available_periods", body.available_periods),
    ):
        _check_pairs(problems, name, periods)
    _check_span(problems, "query_periods", body.periods())
    if body.query_slots:
        starts = [slot.start for slot in body.query_slots]
        if max(starts) - min(starts) > dt.timedelta(days=MAX_QUERY_SPAN_DAYS):
            problems.add(
                "query_slots", "errors.too_long", f"must lie within {MAX_QUERY_SPAN_DAYS} days"
            )
    _check_duration(problems, "required_duration.minutes", body.required_duration.minutes)
    _check_interval(problems, "start_interval", body.start_interval)
    _check_groups(problems, "participants", body.participants)
    problems.raise_if_any()


def _check_duration(problems: FieldErrors, where: str, minutes: int) -> None:
    if minutes < 1:
        problems.add(where, "errors.too_small", "must be at least 1 minute")


def _check_interval(problems: FieldErrors, where: str, interval: Duration | None) -> None:
    minutes = None if interval is None else interval.minutes
    if minutes is not None and minutes not in START_INTERVALS:
        allowed = ", ".join(str(value) for value in START_INTERVALS)
        problems.add(f"{where}.minutes", "errors.invalid", f"must be one of {allowed}")


def _check_span(problems: FieldErrors, where: str, periods: Sequence[Period]) -> None:
    if periods:
        earliest = min(p.start for p in periods)
        latest = max(p.end for p in periods)
        if latest - earliest > dt.timedelta(days=MAX_QUERY_SPAN_DAYS):
            problems.add(
                where,
                "errors.too_long",
                f"query periods must lie within {MAX_QUERY_SPAN_DAYS} days of each other",
            )


def _check_groups(
    problems: FieldErrors, where: str, participants: Sequence[ParticipantGroupQuery]
) -> None:
    for group_index, group in enumerate(participants):
        group_where = f"{where}[{group_index}]"
        if group.required != "all" and not 1 <= group.required <= len(group.members):
            problems.add(
                f"{group_where}.required",
                "errors.out_of_range",
                f'required must be "all" or between 1 and {len(group.members)}',
            )
        for member_index, member in enumerate(group.members):
            member_where = f"{group_where}.members[{member_index}]"
            _check_pairs(problems, f"{member_where}.available_periods", member.available_periods)
            if member.availability_rule_ids is not None and not member.managed_availability:
                problems.add(
                    f"{member_where}.availability_rule_ids",
                    "errors.invalid",
                    "availability_rule_ids needs managed_availability: true",
                )


def _check_pairs(problems: FieldErrors, name: str, periods: Sequence[Period] | None) -> None:
    for index, period in enumerate(periods or []):
        if period.end <= period.start:
            problems.add(f"{name}[{index}]", "errors.invalid_time_pair", "end must be after start")


def _periods(
    periods: Sequence[Period], query_slots: Sequence[QuerySlot] | None, duration_minutes: int
) -> list[Interval]:
    if query_slots:
        length = duration_minutes * _MINUTE
        return [Interval(slot.start, slot.start + length) for slot in query_slots]
    return [Interval(p.start, p.end) for p in periods]


def _clip(periods: list[Interval], not_before: dt.datetime | None) -> list[Interval]:
    if not_before is None:
        return periods
    return [Interval(max(p.start, not_before), p.end) for p in periods if p.end > not_before]


def _check_slots(
    body: AvailabilityRequest, members: _Members, periods: list[Interval], before: int, after: int
) -> list[AvailableTime]:
    """Each query slot on its own: is it free, and for whom?"""
    found: list[AvailableTime] = []
    for period in periods:
        found += evaluate_availability(
            AvailabilityQuery(
                query_periods=[period],
                participants=members.groups,
                required_duration_minutes=body.required_duration.minutes,
                buffer_before_minutes=before,
                buffer_after_minutes=after,
                start_interval_minutes=1,
                response_format="slots",
                max_results=1,
            )
        )
    found.sort(key=lambda slot: (slot.start, slot.end))
    return found[: body.effective_max_results()]


def _read_members(
    session: Session,
    asker: Asker,
    participants: Sequence[ParticipantGroupQuery],
    where: str,
    periods: Sequence[Interval],
    before: int,
    after: int,
) -> _Members:
    """Busy time, rules and restrictions of every member, from one read per kind."""
    subs = list(dict.fromkeys(m.sub for group in participants for m in group.members))
    if asker.account_id is not None:
        visible = [asker.account_id] if asker.account_id in subs else []
    else:
        visible = list(accounts_of_application(session, asker.application_id, subs))
    own_calendars = calendar_ids_by_account(session, visible)
    rules = rules_by_account(session, visible)
    problems = FieldErrors()
    chosen: dict[tuple[int, int], list[str]] = {}
    member_rules: dict[tuple[int, int], list[WeeklyRule] | None] = {}
    for group_index, group in enumerate(participants):
        for member_index, member in enumerate(group.members):
            key = (group_index, member_index)
            member_where = f"{where}[{group_index}].members[{member_index}]"
            if member.sub not in visible:
                problems.add(
                    f"{member_where}.sub", "errors.not_found", f"no account {member.sub!r}"
                )
                continue
            rows = _member_rule_rows(problems, member_where, member, rules.get(member.sub, []))
            member_rules[key] = None if rows is None else [weekly_rule(row) for row in rows]
            available = own_calendars[member.sub]
            wanted = member.calendar_ids
            if wanted is None and rows:
                rule_calendars = [cid for row in rows for cid in (row.calendar_ids or [])]
                wanted = rule_calendars or None
            if wanted is None:
                chosen[key] = available
                continue
            unknown = [cid for cid in wanted if cid not in set(available)]
            if unknown:
                problems.add(
                    f"{member_where}.calendar_ids",
                    "errors.not_found",
                    f"not calendars of {member.sub}: {', '.join(unknown[:5])}",
                )
            chosen[key] = list(dict.fromkeys(wanted))
    problems.raise_if_any()

    result = _Members(subs=subs)
    busy_by_calendar: dict[str, list[tuple[int, int]]] = {}
    held: dict[str, list[tuple[int, int]]] = {}
    if periods:
        window_start = min(p.start for p in periods) - before * _MINUTE
        window_end = max(p.end for p in periods) + after * _MINUTE
        all_calendar_ids = sorted({cid for ids in chosen.values() for cid in ids})
        busy_by_calendar = read_busy_microseconds(
            session, all_calendar_ids, window_start, window_end
        )
        # Bookings hold their time until the written event is synced back (and after).
        held = holds_by_account(session, visible, window_start, window_end)
    for group_index, group in enumerate(participants):
        members = []
        for member_index, member in enumerate(group.members):
            key = (group_index, member_index)
            busy = chain(
                chain.from_iterable(busy_by_calendar.get(cid, ()) for cid in chosen[key]),
                held.get(member.sub, ()),
            )
            members.append(
                Member.from_microseconds(
                    member.sub,
                    busy=list(busy),
                    available_periods=(
                        None
                        if member.available_periods is None
                        else [Interval(p.start, p.end) for p in member.available_periods]
                    ),
                    availability_rules=member_rules[key],
                )
            )
        result.groups.append(ParticipantGroup(members=members, required=group.required))
    return result


def _member_rule_rows(
    problems: FieldErrors, where: str, member: MemberQuery, rows: list[AvailabilityRule]
) -> list[AvailabilityRule] | None:
    """The rules a managed member follows (None: not managed). Without
    ``availability_rule_ids`` every rule of the member counts; a named rule it does not
    have is a 422."""
    if not member.managed_availability:
        return None
    wanted = member.availability_rule_ids
    if wanted is None:
        return rows
    by_id = {row.rule_id: row for row in rows}
    unknown = [rule_id for rule_id in wanted if rule_id not in by_id]
    if unknown:
        problems.add(
            f"{where}.availability_rule_ids",
            "errors.not_found",
            f"no availability rule {', '.join(map(repr, unknown[:5]))}",
        )
        return []
    return [by_id[rule_id] for rule_id in dict.fromkeys(wanted)]


def _buffers(buffer: Buffer | None) -> tuple[int, int]:
    before = buffer.before.minutes if buffer and buffer.before else 0
    after = buffer.after.minutes if buffer and buffer.after else 0
    return before, after


def _start_interval(interval: Duration | None) -> int:
    return interval.minutes if interval and interval.minutes else DEFAULT_START_INTERVAL_MINUTES


def member_statuses(
    session: Session, subs: Sequence[str], now: dt.datetime, staleness_bound: float
) -> list[tuple[str, SyncStatus]]:
    """Each member's status by ``member_sync_status`` over its profiles' effective
    (staleness-aware) statuses."""
    profiles = profiles_by_account(session, list(subs))
    return [
        (
            sub,
            member_sync_status(
                effective_status(profile, now, staleness_bound).sync_status
                for profile in profiles.get(sub, [])
            ),
        )
        for sub in subs
    ]
