"""GET /v1/calendars: the calling account's calendars."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_settings, db_session
from syncd.api.routes.views import calendar_view
from syncd.api.schemas import CalendarOut, CalendarsResponse
from syncd.config import Settings
from syncd.store.models import Account
from syncd.store.queries import calendars_of_account
from syncd.sync.calendar_create import create_calendar

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


class CalendarCreate(BaseModel):
    """POST /v1/calendars, as pycronofy's ``create_calendar`` and cronofy-ruby send it."""

    model_config = ConfigDict(extra="ignore")

    profile_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=255)
    color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")


class CalendarCreated(BaseModel):
    calendar: CalendarOut


@router.post("/v1/calendars", response_model=CalendarCreated)
def create_profile_calendar(
    request: Request,
    body: CalendarCreate,
    account: Account = Depends(account_caller),
    settings: Settings = Depends(app_settings),
) -> CalendarCreated:
    """A new calendar in one of the account's profiles, created at the provider now."""
    created = create_calendar(
        request.app.state.engine,
        settings,
        request.app.state.box,
        account,
        body.profile_id,
        body.name,
        body.color,
    )
    return CalendarCreated(calendar=calendar_view(created.calendar, created.profile))
