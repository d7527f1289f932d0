"""The tables of personalized scheduling links (issue 11): a person's link templates,
the links made from them for one recipient, and personal extension tokens.

Beside ``syncd.store.models`` (which re-exports them) so neither module outgrows one
sitting's reading. A personalized link *is* a Real-Time Scheduling link
(``schedulinglink``); ``personallink`` only says whose it is and for whom. Extension
tokens are stored as SHA-256 hashes only, like API keys.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from syncd.store.columns import UTCDateTime, utcnow
from syncd.store.columns import utc_field as _utc

__all__ = ["ExtensionToken", "LinkTemplate", "PersonalLink"]


class LinkTemplate(SQLModel, table=True):
    """What a person's personalized links offer: duration, calendars, hours, buffers."""

    id: str = Field(primary_key=True)  # ltp_…
    account_id: str = Field(foreign_key="account.id", index=True)
    name: str
    duration_minutes: int
    #: The calendars whose events make the person busy; ``None``: all of them.
    calendar_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Offer only inside the Working hours rule (managed availability).
    use_working_hours: bool = True
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0
    #: ``None`` (no conferencing), ``"default"`` or a ``pro_…`` conferencing profile id.
    conferencing: str | None = None
    target_calendar_id: str
    #: Where the booking notification goes (an application's webhook), if anywhere.
    callback_url: str | None = None
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    deleted_at: dt.datetime | None = _utc()


class PersonalLink(SQLModel, table=True):
    """A scheduling link made from a template for one recipient."""

    link_id: str = Field(primary_key=True, foreign_key="schedulinglink.id")
    account_id: str = Field(foreign_key="account.id", index=True)
    template_id: str = Field(foreign_key="linktemplate.id")
    recipient_name: str = ""
    recipient_email: str = ""
    summary: str
    correlation_id: str | None = None
    #: ``"page"``, ``"api"`` or ``"extension"``: who made it.
    made_by: str = "page"
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ExtensionToken(SQLModel, table=True):
    """A personal token for the browser extension: it may only make personalized links."""

    id: str = Field(primary_key=True)  # ext_…
    account_id: str = Field(foreign_key="account.id", index=True)
    name: str
    token_hash: str = Field(index=True, unique=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_used_at: dt.datetime | None = _utc()
    revoked_at: dt.datetime | None = _utc()
