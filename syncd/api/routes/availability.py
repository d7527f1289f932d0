"""POST /v1/availability and POST /v1/sequenced_availability: shapes only.

The query is checked, read and answered by ``syncd.scheduling.availability`` (which
hands the computation to ``syncd.availability``); this module maps the wire shapes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import Session

from syncd.api.auth import Caller, authenticated_caller
from syncd.api.context import app_settings, db_session, now
from syncd.api.routes.views import wire_sync_status
from syncd.api.schemas import (
    AvailabilityResponse,
    AvailableTimeOut,
    MemberStatus,
    Participant,
)
from syncd.availability import AvailableTime
from syncd.config import Settings
from syncd.cronofy.availability import AvailabilityRequest, SequencedAvailabilityRequest
from syncd.cronofy.times import format_utc
from syncd.scheduling.availability import Asker, answer_availability, answer_sequenced

router = APIRouter(tags=["availability"])


def asker(caller: Caller) -> Asker:
    return Asker(caller.application_id, caller.account.id if caller.account else None)


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
    answer = answer_availability(
        session, asker(caller), body, current_time, settings.staleness_bound
    )
    results = [_result(item) for item in answer.found]
    response = (
        AvailabilityResponse(available_periods=results)
        if answer.response_format == "periods"
        else AvailabilityResponse(available_slots=results)
    )
    if answer.member_statuses is not None:
        response.member_statuses = [
            MemberStatus(sub=sub, sync_status=wire_sync_status(status))
            for sub, status in answer.member_statuses
        ]
    return response


class SequenceSlotOut(BaseModel):
    sequence_id: str
    start: str
    end: str
    participants: list[Participant]


class SequenceOut(BaseModel):
    sequence: list[SequenceSlotOut]


class SequencedAvailabilityResponse(BaseModel):
    sequences: list[SequenceOut]


@router.post("/v1/sequenced_availability", response_model=SequencedAvailabilityResponse)
def sequenced_availability(
    body: SequencedAvailabilityRequest,
    caller: Caller = Depends(authenticated_caller),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    """Several events in ``ordinal`` order, each in its own slot, with the gaps the
    steps' buffers ask for."""
    sequences = answer_sequenced(session, asker(caller), body)
    return {
        "sequences": [
            {
                "sequence": [
                    {"sequence_id": sequence_id, **_result(slot).model_dump()}
                    for sequence_id, slot in sequence
                ]
            }
            for sequence in sequences
        ]
    }


def _result(item: AvailableTime) -> AvailableTimeOut:
    return AvailableTimeOut(
        start=format_utc(item.start),
        end=format_utc(item.end),
        participants=[Participant(sub=sub) for sub in item.participants],
    )
