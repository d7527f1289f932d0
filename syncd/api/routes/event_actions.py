"""Event actions beside the upsert: reply to an invitation, delete every managed event.

``POST /v1/calendars/{calendar_id}/events/{event_uid}/participation_status`` and
``DELETE /v1/events`` only queue work for the daemon (``syncd.store.managed_requests``)
and answer 202, like the upsert.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import write_session
from syncd.conferencing.replies import queue_reply
from syncd.errors import invalid
from syncd.store import managed_requests
from syncd.store.models import Account
from syncd.store.queries import calendar_ids_by_account

router = APIRouter(tags=["events"])


class ParticipationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["accepted", "tentative", "declined"]


@router.post(
    "/v1/calendars/{calendar_id}/events/{event_uid}/participation_status",
    status_code=202,
    response_class=Response,
)
def change_participation_status(
    calendar_id: str,
    event_uid: str,
    body: ParticipationIn,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
) -> Response:
    """The account's reply to an invitation, written by the daemon to the provider (202)."""
    queue_reply(session, account, calendar_id, event_uid, body.status)
    return Response(status_code=202)


class DeleteAllIn(BaseModel):
    """cronofy-node sends these in the body; pycronofy in the query string."""

    model_config = ConfigDict(extra="ignore")

    delete_all: bool | None = None
    calendar_ids: list[str] | None = None


@router.delete("/v1/events", status_code=202, response_class=Response)
def delete_all_events(
    delete_all: bool | None = Query(default=None),
    calendar_ids: list[str] | None = Query(default=None, alias="calendar_ids[]"),
    body: DeleteAllIn | None = Body(default=None),
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
) -> Response:
    """Every event the application created for the account (``delete_all=true``), or those
    in ``calendar_ids[]``; deleted by the daemon (202). Events not created through the API
    are never touched."""
    if delete_all is None and body is not None:
        delete_all = body.delete_all
    if calendar_ids is None and body is not None:
        calendar_ids = body.calendar_ids
    if calendar_ids:
        own = set(calendar_ids_by_account(session, [account.id])[account.id])
        unknown = [cid for cid in calendar_ids if cid not in own]
        if unknown:
            raise invalid(
                "calendar_ids", "errors.not_found", "a calendar named is not this account's"
            )
        managed_requests.request_delete_all(session, account.id, list(dict.fromkeys(calendar_ids)))
    elif delete_all:
        managed_requests.request_delete_all(session, account.id, None)
    else:
        raise invalid("delete_all", "errors.required", "give delete_all=true or calendar_ids[]")
    return Response(status_code=202)
