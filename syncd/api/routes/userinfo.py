"""GET /v1/userinfo: who the access token belongs to, with profiles and calendars."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_settings, db_session, now
from syncd.api.routes.views import profile_calendar_view, profile_view
from syncd.api.schemas import (
    UserinfoAuthorization,
    UserinfoData,
    UserinfoProfileOut,
    UserinfoResponse,
)
from syncd.config import Settings
from syncd.store.models import Account
from syncd.store.profiles import list_profiles
from syncd.store.queries import calendars_of_account

router = APIRouter(tags=["userinfo"])


@router.get("/v1/userinfo", response_model=UserinfoResponse, response_model_by_alias=True)
def get_userinfo(
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current_time: dt.datetime = Depends(now),
) -> UserinfoResponse:
    """The account, its profiles (effective ``sync_status``) and their calendars."""
    calendar_rows = calendars_of_account(session, account.id)
    profiles: list[UserinfoProfileOut] = []
    for profile in list_profiles(session, account_id=account.id):
        calendars = [
            profile_calendar_view(calendar)
            for calendar, owner in calendar_rows
            if owner.id == profile.id
        ]
        view = profile_view(profile, current_time, settings.staleness_bound)
        profiles.append(UserinfoProfileOut(**view.model_dump(), profile_calendars=calendars))
    return UserinfoResponse(
        sub=account.id,
        email=account.email,
        name=account.name,
        zoneinfo=account.timezone,
        cronofy_type="account",
        cronofy_data=UserinfoData(
            authorization=UserinfoAuthorization(
                scope="read_account read_free_busy", status="active"
            ),
            profiles=profiles,
        ),
    )
