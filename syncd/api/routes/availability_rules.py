"""POST/GET/DELETE /v1/availability_rules: the calling account's working hours.

Cronofy's shapes: a rule is ``availability_rule_id``, ``tzid``, optional
``calendar_ids`` and ``weekly_periods [{day, start_time, end_time}]``; answers are
wrapped in ``availability_rule`` / ``availability_rules``. Checks live in
``syncd.store.availability_rules``; this module only maps shapes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import db_session, write_session
from syncd.store.availability_rules import (
    MAX_WEEKLY_PERIODS,
    delete_rule,
    get_rule,
    list_rules,
    save_rule,
)
from syncd.store.models import Account, AvailabilityRule

router = APIRouter(tags=["availability rules"])


class WeeklyPeriodIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    day: str = Field(examples=["monday"])
    start_time: str = Field(examples=["09:30"])
    end_time: str = Field(examples=["17:00"], description='"24:00" ends at midnight')


class AvailabilityRuleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    availability_rule_id: str = Field(min_length=1, max_length=64)
    tzid: str = Field(min_length=1, max_length=64)
    calendar_ids: list[str] | None = Field(default=None, max_length=50)
    weekly_periods: list[WeeklyPeriodIn] = Field(max_length=MAX_WEEKLY_PERIODS)


class WeeklyPeriodOut(BaseModel):
    day: str
    start_time: str
    end_time: str


class AvailabilityRuleOut(BaseModel):
    availability_rule_id: str
    tzid: str
    calendar_ids: list[str] | None = None
    weekly_periods: list[WeeklyPeriodOut]


class AvailabilityRuleResponse(BaseModel):
    availability_rule: AvailabilityRuleOut


class AvailabilityRulesResponse(BaseModel):
    availability_rules: list[AvailabilityRuleOut]


def _view(row: AvailabilityRule) -> dict[str, Any]:
    view: dict[str, Any] = {
        "availability_rule_id": row.rule_id,
        "tzid": row.tzid,
        "weekly_periods": [dict(period) for period in row.weekly_periods],
    }
    if row.calendar_ids is not None:
        view["calendar_ids"] = list(row.calendar_ids)
    return view


@router.post(
    "/v1/availability_rules",
    response_model=AvailabilityRuleResponse,
    response_model_exclude_none=True,
)
def post_availability_rule(
    body: AvailabilityRuleIn,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
) -> dict[str, Any]:
    """Create or replace one of the account's rules."""
    row = save_rule(
        session,
        account.id,
        body.availability_rule_id,
        body.tzid,
        [period.model_dump() for period in body.weekly_periods],
        body.calendar_ids,
    )
    view = _view(row)
    session.commit()
    return {"availability_rule": view}


@router.get(
    "/v1/availability_rules",
    response_model=AvailabilityRulesResponse,
    response_model_exclude_none=True,
)
def get_availability_rules(
    account: Account = Depends(account_caller), session: Session = Depends(db_session)
) -> dict[str, Any]:
    return {"availability_rules": [_view(row) for row in list_rules(session, account.id)]}


@router.get(
    "/v1/availability_rules/{availability_rule_id}",
    response_model=AvailabilityRuleResponse,
    response_model_exclude_none=True,
)
def get_availability_rule(
    availability_rule_id: str,
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    return {"availability_rule": _view(get_rule(session, account.id, availability_rule_id))}


@router.delete(
    "/v1/availability_rules/{availability_rule_id}", status_code=202, response_class=Response
)
def delete_availability_rule(
    availability_rule_id: str,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
) -> Response:
    delete_rule(session, account.id, availability_rule_id)
    session.commit()
    return Response(status_code=202)
