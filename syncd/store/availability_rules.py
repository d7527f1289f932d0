"""Availability rules (working hours) of accounts: saved, read, and handed to the engine.

A rule is checked completely before it is stored (every problem reported at once, in
Cronofy's 422 shape), so what is stored always converts to a
``syncd.availability.WeeklyRule``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from syncd.availability import WEEKDAYS, WeeklyPeriod, WeeklyRule, parse_clock, zone_for
from syncd.errors import FieldErrors, NotFoundError
from syncd.store.models import AvailabilityRule, utcnow
from syncd.store.queries import calendar_ids_by_account

#: Cronofy: "ASCII, at most 64 characters"; we keep to URL-safe ASCII so the id can be a
#: path segment.
RULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
MAX_WEEKLY_PERIODS = 100
#: The rule the "Working hours" page edits.
DEFAULT_RULE_ID = "default"


def save_rule(
    session: Session,
    account_id: str,
    rule_id: str,
    tzid: str,
    weekly_periods: Sequence[dict[str, Any]],
    calendar_ids: Sequence[str] | None = None,
) -> AvailabilityRule:
    """Create or replace the account's rule ``rule_id`` (Cronofy's POST is an upsert)."""
    problems = FieldErrors()
    if not RULE_ID_PATTERN.match(rule_id):
        problems.add(
            "availability_rule_id",
            "errors.invalid",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '~' or '-'",
        )
    try:
        zone_for(tzid)
    except ValueError:
        problems.add("tzid", "errors.tzid_unrecognized", f"unknown time zone {tzid!r}")
    periods = _check_periods(problems, weekly_periods)
    if calendar_ids is not None:
        own = set(calendar_ids_by_account(session, [account_id])[account_id])
        unknown = [cid for cid in calendar_ids if cid not in own]
        if unknown:
            problems.add(
                "calendar_ids", "errors.not_found", f"not your calendars: {', '.join(unknown[:5])}"
            )
    problems.raise_if_any()
    row = find_rule(session, account_id, rule_id)
    if row is None:
        row = AvailabilityRule(account_id=account_id, rule_id=rule_id, tzid=tzid)
    row.tzid = tzid
    row.weekly_periods = periods
    row.calendar_ids = list(dict.fromkeys(calendar_ids)) if calendar_ids is not None else None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def _check_periods(
    problems: FieldErrors, weekly_periods: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    if len(weekly_periods) > MAX_WEEKLY_PERIODS:
        problems.add("weekly_periods", "errors.too_many", f"at most {MAX_WEEKLY_PERIODS} periods")
        return []
    clean: list[dict[str, str]] = []
    for index, period in enumerate(weekly_periods):
        where = f"weekly_periods[{index}]"
        day = period.get("day")
        if day not in WEEKDAYS:
            problems.add(f"{where}.day", "errors.invalid", "must be a day name, e.g. monday")
            continue
        try:
            start = parse_clock(str(period.get("start_time", "")))
            end = parse_clock(str(period.get("end_time", "")), allow_end_of_day=True)
        except ValueError as error:
            problems.add(where, "errors.invalid", str(error))
            continue
        if end <= start:
            problems.add(where, "errors.invalid_time_pair", "end_time must be after start_time")
            continue
        clean.append(
            {"day": day, "start_time": period["start_time"], "end_time": period["end_time"]}
        )
    return clean


def find_rule(session: Session, account_id: str, rule_id: str) -> AvailabilityRule | None:
    return session.execute(
        select(AvailabilityRule).where(
            col(AvailabilityRule.account_id) == account_id,
            col(AvailabilityRule.rule_id) == rule_id,
        )
    ).scalar_one_or_none()


def get_rule(session: Session, account_id: str, rule_id: str) -> AvailabilityRule:
    row = find_rule(session, account_id, rule_id)
    if row is None:
        raise NotFoundError(f"no availability rule {rule_id!r}")
    return row


def list_rules(session: Session, account_id: str) -> list[AvailabilityRule]:
    return list(
        session.execute(
            select(AvailabilityRule)
            .where(col(AvailabilityRule.account_id) == account_id)
            .order_by(col(AvailabilityRule.rule_id))
        ).scalars()
    )


def delete_rule(session: Session, account_id: str, rule_id: str) -> None:
    result = session.execute(
        delete(AvailabilityRule).where(
            col(AvailabilityRule.account_id) == account_id,
            col(AvailabilityRule.rule_id) == rule_id,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"no availability rule {rule_id!r}")


def rules_by_account(
    session: Session, account_ids: Sequence[str]
) -> dict[str, list[AvailabilityRule]]:
    """Every rule of these accounts (absent account: no rules)."""
    found: dict[str, list[AvailabilityRule]] = {}
    if not account_ids:
        return found
    for row in session.execute(
        select(AvailabilityRule)
        .where(col(AvailabilityRule.account_id).in_(list(account_ids)))
        .order_by(col(AvailabilityRule.rule_id))
    ).scalars():
        found.setdefault(row.account_id, []).append(row)
    return found


def weekly_rule(row: AvailabilityRule) -> WeeklyRule:
    """The engine's form of a stored rule."""
    return WeeklyRule(
        row.tzid,
        [
            WeeklyPeriod(
                period["day"],
                parse_clock(period["start_time"]),
                parse_clock(period["end_time"], allow_end_of_day=True),
            )
            for period in row.weekly_periods
        ],
    )
