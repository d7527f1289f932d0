"""POST/GET/DELETE /v1/channels: the calling account's push notification channels.

Thin: validation, limits and the ``verification`` notification live in
``syncd.notify.channels``, whose errors (``syncd.errors``) ``syncd.api.errors`` answers;
this module maps the rest onto Cronofy's request shapes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_settings, db_session, write_session
from syncd.config import Settings
from syncd.notify.channels import channel_view, close_channel, create_channel, list_channels
from syncd.store.models import Account

router = APIRouter(tags=["channels"])

#: Most calendars one channel's filter may name.
MAX_FILTER_CALENDARS = 256


class ChannelFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    calendar_ids: list[str] | None = Field(default=None, max_length=MAX_FILTER_CALENDARS)
    only_managed: bool | None = None


class ChannelRequest(BaseModel):
    """Cronofy's channel request; ``callback_url`` is checked against the webhook rules."""

    model_config = ConfigDict(extra="ignore")

    callback_url: str = Field(min_length=1)
    filters: ChannelFilters | None = None


class Channel(BaseModel):
    channel_id: str
    callback_url: str
    filters: dict[str, Any]


class ChannelResponse(BaseModel):
    channel: Channel


class ChannelsResponse(BaseModel):
    channels: list[Channel]


@router.post("/v1/channels", response_model=ChannelResponse)
def post_channel(
    body: ChannelRequest,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
    settings: Settings = Depends(app_settings),
) -> dict[str, Any]:
    """Open a channel; a ``verification`` notification is sent to ``callback_url``."""
    filters = body.filters or ChannelFilters()
    channel = create_channel(
        session,
        settings,
        account,
        body.callback_url,
        calendar_ids=filters.calendar_ids,
        only_managed=filters.only_managed,
    )
    session.commit()  # durable before the caller hears of it (yield cleanup may run later)
    return {"channel": channel_view(channel)}


@router.get("/v1/channels", response_model=ChannelsResponse)
def get_channels(
    account: Account = Depends(account_caller), session: Session = Depends(db_session)
) -> dict[str, Any]:
    """The account's open channels."""
    return {"channels": [channel_view(channel) for channel in list_channels(session, account.id)]}


@router.delete("/v1/channels/{channel_id}", status_code=202, response_class=Response)
def delete_channel(
    channel_id: str,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
) -> Response:
    """Close a channel: no further notifications are queued for it."""
    close_channel(session, account.id, channel_id)
    session.commit()
    return Response(status_code=202)
