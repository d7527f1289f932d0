"""``GET /v1/account`` (pycronofy's ``account()``) and the application's link for one of
its accounts to set a first password on the hosted pages."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from sqlmodel import Session

from syncd.api.auth import Caller, account_token_caller, application_caller, effective_scope
from syncd.api.context import app_settings, now, write_session
from syncd.api.schemas import (
    AccountOut,
    AccountResponse,
    PasswordInviteOut,
    PasswordInviteResponse,
)
from syncd.config import Settings
from syncd.identity.accounts import invite_first_password
from syncd.web.links import invite_url

router = APIRouter(tags=["account"])


@router.get("/v1/account", response_model=AccountResponse)
def get_account(caller: Caller = Depends(account_token_caller)) -> AccountResponse:
    """``{"account": {account_id, email, name, scope, default_tzid}}``."""
    account = caller.account
    assert account is not None  # account_token_caller saw to it
    return AccountResponse(
        account=AccountOut(
            account_id=account.id,
            email=account.email,
            name=account.name,
            scope=effective_scope(caller),
            default_tzid=account.timezone,
        )
    )


@router.post(
    "/v1/accounts/{account_id}/password_invite",
    response_model=PasswordInviteResponse,
    status_code=201,
)
def create_password_invite(
    account_id: str,
    caller: Caller = Depends(application_caller),
    session: Session = Depends(write_session, scope="function"),
    settings: Settings = Depends(app_settings),
    at: dt.datetime = Depends(now),
) -> PasswordInviteResponse:
    """``{"password_invite": {account_id, url, expires_at}}``: a one-time link (valid
    ``web.invite_days``) with which the account's person sets a password and is signed
    in; 409 once the account has a password, 404 for another application's account."""
    lifetime = dt.timedelta(days=settings.web.invite_days)
    token = invite_first_password(
        session, caller.application_id, account_id, now=at, lifetime=lifetime
    )
    return PasswordInviteResponse(
        password_invite=PasswordInviteOut(
            account_id=account_id,
            url=invite_url(settings, token),
            expires_at=(at + lifetime).isoformat(timespec="seconds"),
        )
    )
