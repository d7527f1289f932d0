"""GET /v1/userinfo: who the access token belongs to, with profiles and calendars."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from syncd.api.auth import Caller, account_token_caller, effective_scope
from syncd.api.context import app_settings, db_session, now
from syncd.api.paging import public_base_url
from syncd.api.routes.views import profile_calendar_view, profile_view
from syncd.api.schemas import (
    UserinfoAuthorization,
    UserinfoData,
    UserinfoProfileOut,
    UserinfoResponse,
)
from syncd.config import Settings
from syncd.store.profiles import list_profiles
from syncd.store.queries import calendars_of_account

router = APIRouter(tags=["userinfo"])


@router.get(
    "/v1/userinfo",
    response_model=UserinfoResponse,
    response_model_by_alias=True,
    response_model_exclude_none=True,
)
def get_userinfo(
    request: Request,
    caller: Caller = Depends(account_token_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current_time: dt.datetime = Depends(now),
) -> UserinfoResponse:
    """The account, its profiles (effective ``sync_status``, ``profile_relink_url`` when
    disconnected) and their calendars, and the scope the token was granted."""
    account = caller.account
    assert account is not None  # account_token_caller saw to it
    base = public_base_url(request, settings)
    calendar_rows = calendars_of_account(session, account.id)
    profiles: list[UserinfoProfileOut] = []
    for profile in list_profiles(session, account_id=account.id):
        calendars = [
            profile_calendar_view(calendar)
            for calendar, owner in calendar_rows
            if owner.id == profile.id
        ]
        view = profile_view(profile, current_time, settings.staleness_bound, base)
        profiles.append(UserinfoProfileOut(**view.model_dump(), profile_calendars=calendars))
    return UserinfoResponse(
        sub=account.id,
        email=account.email,
        name=account.name,
        zoneinfo=account.timezone,
        cronofy_type="account",
        cronofy_data=UserinfoData(
            authorization=UserinfoAuthorization(scope=effective_scope(caller), status="active"),
            profiles=profiles,
        ),
    )
