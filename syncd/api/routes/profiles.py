"""GET /v1/profiles: the calling account's connected calendar services and their status."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_settings, db_session, now
from syncd.api.routes.views import profile_view
from syncd.api.schemas import ProfilesResponse
from syncd.config import Settings
from syncd.store.models import Account
from syncd.store.profiles import list_profiles

router = APIRouter(tags=["profiles"])


@router.get("/v1/profiles", response_model=ProfilesResponse)
def get_profiles(
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current_time: dt.datetime = Depends(now),
) -> ProfilesResponse:
    """Profiles with ``profile_connected``, ``profile_initial_sync_required`` and the
    effective ``sync_status`` (stale data reads as ``pending``)."""
    profiles = list_profiles(session, account_id=account.id)
    return ProfilesResponse(
        profiles=[
            profile_view(profile, current_time, settings.staleness_bound) for profile in profiles
        ]
    )
