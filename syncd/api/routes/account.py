"""GET /v1/account: the account the access token belongs to (pycronofy's ``account()``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from syncd.api.auth import Caller, account_token_caller, effective_scope
from syncd.api.schemas import AccountOut, AccountResponse

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
