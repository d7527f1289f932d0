"""POST /v1/availability: check the query, read busy time, let the engine answer.

This module only translates: limits and tenancy are checked here, busy time comes from
the store in one range read (as integer microseconds, handed to the engine as they are),
and every answer is computed by ``syncd.availability``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import chain

from fastapi import APIRouter, Depends
from sqlmodel import Session

from syncd.api.auth import Caller, authenticated_caller
from syncd.api.context import app_settings, db_session, now
from syncd.api.routes.views import wire_sync_status
from syncd.api.schemas import (
    MAX_QUERY_SPAN_DAYS,
    START_INTERVALS,
    AvailabilityRequest,
    AvailabilityResponse,
    AvailableTimeOut,
    MemberStatus,
    Participant,
    Period,
)
from syncd.availability import (
    DEFAULT_START_INTERVAL_MINUTES,
    AvailabilityQuery,
    AvailableTime,
    Interval,
    Member,
    ParticipantGroup,
    evaluate_availability,
    member_sync_status,
)
from syncd.config import Settings
from syncd.cronofy.times import format_utc
from syncd.errors import FieldErrors
from syncd.store.events import read_busy_microseconds
from syncd.store.queries import (
    accounts_of_application,
    calendar_ids_by_account,
    profiles_by_account,
)
from syncd.sync.status import effective_status

router = APIRouter(tags=["availability"])


@router.post(
    "/v1/availability", response_model=AvailabilityResponse, response_model_exclude_none=True
)
def availability(
    body: AvailabilityRequest,
    caller: Caller = Depends(authenticated_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current_time: dt.datetime = Depends(now),
) -> AvailabilityResponse:
    """When can the participants meet? With the API key any of the application's accounts
    may be a member; with an account's access token, only that account."""
    _check_limits(body)
    subs = list(dict.fromkeys(m.sub for group in body.participants for m in group.members))
    calendars = _member_calendars(session, caller, body, subs)

    query_periods = [Interval(p.start, p.end) for p in body.periods()]
    before, after = _buffers(body)
    window_start = min(p.start for p in query_periods) - dt.timedelta(minutes=before)
    window_end = max(p.end for p in query_periods) + dt.timedelta(minutes=after)
    all_calendar_ids = sorted({cid for ids in calendars.values() for cid in ids})
    busy_by_calendar = read_busy_microseconds(session, all_calendar_ids, window_start, window_end)

    groups = []
    for group_index, group in enumerate(body.participants):
        members = []
        for member_index, member in enumerate(group.members):
            calendar_ids = calendars[(group_index, member_index)]
            busy = chain.from_iterable(busy_by_calendar.get(cid, ()) for cid in calendar_ids)
            members.append(
                Member.from_microseconds(
                    member.sub,
                    busy=list(busy),
                    available_periods=_intervals(member.available_periods),
                )
            )
        groups.append(ParticipantGroup(members=members, required=group.required))

    found = evaluate_availability(
        AvailabilityQuery(
            query_periods=query_periods,
            participants=groups,
            required_duration_minutes=body.required_duration.minutes,
            buffer_before_minutes=before,
            buffer_after_minutes=after,
            start_interval_minutes=(
                body.start_interval.minutes
                if body.start_interval
                else DEFAULT_START_INTERVAL_MINUTES
            ),
            response_format=body.response_format or "periods",
            max_results=body.effective_max_results(),
        )
    )
    results = [_result(item) for item in found]
    response = (
        AvailabilityResponse(available_periods=results)
        if (body.response_format or "periods") == "periods"
        else AvailabilityResponse(available_slots=results)
    )
    if body.include_member_statuses:
        response.member_statuses = _member_statuses(session, subs, current_time, settings)
    return response


def _check_limits(body: AvailabilityRequest) -> None:
    """The documented limits and relations pydantic cannot express; all reported at once."""
    problems = FieldErrors()
    if not body.periods():
        problems.add("query_periods", "errors.required", "query_periods must be given")
    for name, periods in (
        ("query_periods", body.query_periods),
        ("available_periods", body.available_periods),
    ):
        _check_pairs(problems, name, periods)
    if body.periods():
        earliest = min(p.start for p in body.periods())
        latest = max(p.end for p in body.periods())
        if latest - earliest > dt.timedelta(days=MAX_QUERY_SPAN_DAYS):
            problems.add(
                "query_periods",
                "errors.too_long",
                f"query periods must lie within {MAX_QUERY_SPAN_DAYS} days of each other",
            )
    if body.required_duration.minutes < 1:
        problems.add("required_duration.minutes", "errors.too_small", "must be at least 1 minute")
    if body.start_interval is not None and body.start_interval.minutes not in START_INTERVALS:
        allowed = ", ".join(str(minutes) for minutes in START_INTERVALS)
        problems.add("start_interval.minutes", "errors.invalid", f"must be one of {allowed}")
    if body.query_slots:
        problems.add("query_slots", "errors.not_supported", "query_slots is not supported")
    for group_index, group in enumerate(body.participants):
        where = f"participants[{group_index}]"
        if group.required != "all" and not 1 <= group.required <= len(group.members):
            problems.add(
                f"{where}.required",
                "errors.out_of_range",
                f'required must be "all" or between 1 and {len(group.members)}',
            )
        for member_index, member in enumerate(group.members):
            member_where = f"{where}.members[{member_index}]"
            _check_pairs(problems, f"{member_where}.available_periods", member.available_periods)
            if member.managed_availability or member.availability_rule_ids:
                problems.add(
                    member_where,
                    "errors.not_supported",
                    "managed availability and availability rules are not supported",
                )
    problems.raise_if_any()


def _check_pairs(problems: FieldErrors, name: str, periods: Sequence[Period] | None) -> None:
    for index, period in enumerate(periods or []):
        if period.end <= period.start:
            problems.add(f"{name}[{index}]", "errors.invalid_time_pair", "end must be after start")


def _member_calendars(
    session: Session, caller: Caller, body: AvailabilityRequest, subs: list[str]
) -> dict[tuple[int, int], list[str]]:
    """Calendar ids to read per (group, member); 422 on a member the caller may not name.

    A sub of another application is reported exactly like one that does not exist.
    """
    if caller.account is not None:
        visible = {caller.account.id: caller.account} if caller.account.id in subs else {}
    else:
        visible = accounts_of_application(session, caller.application_id, subs)
    own_calendars = calendar_ids_by_account(session, list(visible))
    problems = FieldErrors()
    chosen: dict[tuple[int, int], list[str]] = {}
    for group_index, group in enumerate(body.participants):
        for member_index, member in enumerate(group.members):
            where = f"participants[{group_index}].members[{member_index}]"
            if member.sub not in visible:
                problems.add(f"{where}.sub", "errors.not_found", f"no account {member.sub!r}")
                continue
            available = own_calendars[member.sub]
            if member.calendar_ids is None:
                chosen[(group_index, member_index)] = available
                continue
            unknown = [cid for cid in member.calendar_ids if cid not in set(available)]
            if unknown:
                problems.add(
                    f"{where}.calendar_ids",
                    "errors.not_found",
                    f"not calendars of {member.sub}: {', '.join(unknown[:5])}",
                )
            chosen[(group_index, member_index)] = list(dict.fromkeys(member.calendar_ids))
    problems.raise_if_any()
    return chosen


def _buffers(body: AvailabilityRequest) -> tuple[int, int]:
    buffer = body.buffer
    before = buffer.before.minutes if buffer and buffer.before else 0
    after = buffer.after.minutes if buffer and buffer.after else 0
    return before, after


def _intervals(periods: Sequence[Period] | None) -> list[Interval] | None:
    return None if periods is None else [Interval(p.start, p.end) for p in periods]


def _result(item: AvailableTime) -> AvailableTimeOut:
    return AvailableTimeOut(
        start=format_utc(item.start),
        end=format_utc(item.end),
        participants=[Participant(sub=sub) for sub in item.participants],
    )


def _member_statuses(
    session: Session, subs: list[str], current_time: dt.datetime, settings: Settings
) -> list[MemberStatus]:
    """Each member's status by ``member_sync_status`` over its profiles' effective
    (staleness-aware) statuses."""
    profiles = profiles_by_account(session, subs)
    return [
        MemberStatus(
            sub=sub,
            sync_status=wire_sync_status(
                member_sync_status(
                    effective_status(profile, current_time, settings.staleness_bound).sync_status
                    for profile in profiles[sub]
                )
            ),
        )
        for sub in subs
    ]
