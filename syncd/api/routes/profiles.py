"""GET /v1/profiles (the calling account's connected calendar services and their status)
and POST /v1/profiles/{profile_id}/revoke."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_settings, db_session, now
from syncd.api.paging import public_base_url
from syncd.api.routes.views import profile_view
from syncd.api.schemas import ProfilesResponse
from syncd.config import Settings
from syncd.store.models import Account
from syncd.store.profiles import list_profiles
from syncd.sync.revoke import revoke_profile

router = APIRouter(tags=["profiles"])


@router.get("/v1/profiles", response_model=ProfilesResponse, response_model_exclude_none=True)
def get_profiles(
    request: Request,
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current_time: dt.datetime = Depends(now),
) -> ProfilesResponse:
    """Profiles with ``profile_connected``, ``profile_initial_sync_required``, the
    effective ``sync_status`` (stale data reads as ``pending``) and, when disconnected,
    ``profile_relink_url``."""
    base = public_base_url(request, settings)
    profiles = list_profiles(session, account_id=account.id)
    return ProfilesResponse(
        profiles=[
            profile_view(profile, current_time, settings.staleness_bound, base)
            for profile in profiles
        ]
    )


@router.post("/v1/profiles/{profile_id}/revoke", status_code=202, response_class=Response)
def post_revoke_profile(
    request: Request,
    profile_id: str,
    account: Account = Depends(account_caller),
) -> Response:
    """Disconnect one of the account's profiles: its credentials are forgotten, its
    events removed, open channels told (``profile_disconnected``); relinking restores it."""
    state = request.app.state
    revoke_profile(state.engine, state.settings, state.box, account, profile_id)
    return Response(status_code=202)
