"""GET /v1/calendars: the calling account's calendars."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import db_session
from syncd.api.routes.views import calendar_view
from syncd.api.schemas import CalendarsResponse
from syncd.store.models import Account
from syncd.store.queries import calendars_of_account

router = APIRouter(tags=["calendars"])


@router.get("/v1/calendars", response_model=CalendarsResponse)
def list_calendars(
    account: Account = Depends(account_caller), session: Session = Depends(db_session)
) -> CalendarsResponse:
    """Every non-deleted calendar of the account's profiles (needs an access token)."""
    rows = calendars_of_account(session, account.id)
    return CalendarsResponse(
        sub=account.id, calendars=[calendar_view(calendar, profile) for calendar, profile in rows]
    )
