"""The tables. Every row belongs to exactly one application, directly or through its account.

Times are stored as naive UTC (``UTCDateTime``, in ``syncd.store.columns``) so SQLite and
Postgres index and compare them the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from syncd.statuses import ManagedEventState, SyncStatus
from syncd.store import link_models as link_models  # its tables (beside, as OAuth's)
from syncd.store.columns import StatusString as StatusString  # re-exported
from syncd.store.columns import UTCDateTime as UTCDateTime  # re-exported
from syncd.store.columns import status_field as _status
from syncd.store.columns import utc_field as _utc
from syncd.store.columns import utcnow as utcnow  # re-exported
from syncd.store.event_models import Event as Event
from syncd.store.event_models import EventTombstone as EventTombstone
from syncd.store.event_models import Occurrence as Occurrence
from syncd.store.oauth_models import AuthorizationCode as AuthorizationCode
from syncd.store.oauth_models import OAuthGrant as OAuthGrant
from syncd.store.oauth_models import RefreshToken as RefreshToken


class Application(SQLModel, table=True):
    """A tenant: an API client with its own accounts, keys and webhook secret.

    Its OAuth ``client_secret`` is an API key (``ApiKey``); ``client_id`` is public.
    """

    id: str = Field(primary_key=True)  # app_…
    name: str = Field(index=True, unique=True)
    #: The OAuth client id (public), sent with the client_secret to /oauth/token.
    client_id: str = Field(index=True, unique=True)
    #: Redirect URIs /oauth/authorize accepts, compared exactly.
    redirect_uris: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, default=list)
    )
    #: What signs webhooks: ``client_secret`` (its API keys, as Cronofy does) or
    #: ``webhook_secret`` (the separate secret below).
    webhook_signing: str = "client_secret"
    #: Secret that signs outgoing webhooks (Cronofy-HMAC-SHA256), Fernet-encrypted.
    webhook_secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ApiKey(SQLModel, table=True):
    """An application's API key (its OAuth client_secret): looked up by its SHA-256, and
    kept Fernet-encrypted too so webhooks can be signed with it (NULL for keys issued
    before that, whose plain value syncd never had)."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="application.id", index=True)
    key_hash: str = Field(index=True, unique=True)
    secret_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    revoked_at: dt.datetime | None = _utc()


class Account(SQLModel, table=True):
    """An end user (Cronofy ``sub``) of one application."""

    id: str = Field(primary_key=True)  # acc_…
    application_id: str = Field(foreign_key="application.id", index=True)
    email: str
    name: str = ""
    timezone: str = "Etc/UTC"
    default_conferencing_profile_id: str | None = None
    #: Preferences the hosted pages show and applications may read: the first day of
    #: the week (monday | sunday | saturday) and the clock (24h | 12h).
    week_start: str = "monday"
    time_format: str = "24h"
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class AccessToken(SQLModel, table=True):
    """A per-account bearer token for the account's own API calls; stored hashed.

    Issued by an operator (``syncd accounts token``: no grant, no expiry, every scope) or
    by /oauth/token for a grant (expires, carries the grant's scope)."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    grant_id: str | None = Field(default=None, foreign_key="oauthgrant.id", index=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: dt.datetime | None = _utc()
    revoked_at: dt.datetime | None = _utc()


class Profile(SQLModel, table=True):
    """One connected calendar service of an account, with its sync bookkeeping."""

    __table_args__ = (Index("ix_profile_due", "next_due_at"),)

    id: str = Field(primary_key=True)  # pro_…
    account_id: str = Field(foreign_key="account.id", index=True)
    provider: str
    #: The service as Cronofy names it (``ServiceIdentity``: ``apple``, ``office365``…),
    #: set by the adapter when the profile is created and at every calendar listing.
    provider_name: str | None = None
    provider_service: str | None = None
    name: str = ""
    credentials_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    sync_status: SyncStatus = _status(SyncStatus, SyncStatus.PENDING)
    status_reason: str = "waiting for the first full sync"
    initial_sync_done: bool = False
    last_success_at: dt.datetime | None = _utc()
    last_attempt_at: dt.datetime | None = _utc()
    last_error: str | None = None
    calendars_listed_at: dt.datetime | None = _utc()
    next_due_at: dt.datetime | None = _utc()
    failure_count: int = 0
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = _utc()
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Calendar(SQLModel, table=True):
    """A provider calendar of a profile, with its sync cursor."""

    __table_args__ = (UniqueConstraint("profile_id", "provider_calendar_id"),)

    id: str = Field(primary_key=True)  # cal_…
    profile_id: str = Field(foreign_key="profile.id", index=True)
    provider_calendar_id: str
    name: str = ""
    readonly: bool = False
    deleted: bool = False
    primary: bool = False
    integrated_conferencing_available: bool = False
    timezone: str | None = None
    #: The adapter's opaque cursor after the last committed page.
    sync_cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Bumped when syncd's parsing changes so stored cursors are dropped and calendars resync.
    cursor_version: int = 0
    #: Generation stamped on events seen by the full sync in progress (or last completed).
    sync_generation: int = 0
    #: True while a full sync is in progress (its pages are being committed one by one).
    full_sync_in_progress: bool = False
    #: A full sync came back empty for a calendar that had events; one more must confirm.
    empty_resync_pending: bool = False
    last_synced_at: dt.datetime | None = _utc()
    #: Why the last sync of this calendar failed (None once one succeeds), and when.
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_at: dt.datetime | None = _utc()
    #: Consecutive failed syncs of this calendar; its own backoff grows with it.
    failure_count: int = 0
    #: A failing calendar is not tried again before this (the profile's others are).
    next_retry_at: dt.datetime | None = _utc()


class SyncRun(SQLModel, table=True):
    """A log line per profile sync: who ran it and how it ended (for operators and tests)."""

    id: int | None = Field(default=None, primary_key=True)
    profile_id: str = Field(index=True)
    worker: str
    started_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: dt.datetime | None = _utc()
    outcome: str = "running"  # running | ok | transient_error | auth_revoked | error
    detail: str | None = None
    pages: int = 0
    changes: int = 0


class DaemonHeartbeat(SQLModel, table=True):
    """One running daemon, rewritten by its heartbeat; removed when it stops cleanly. A
    row not rewritten within ``lease_seconds`` is a daemon that died."""

    worker: str = Field(primary_key=True)
    started_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConferencingProfile(SQLModel, table=True):
    """An account's authorized conferencing service (Zoom, GoTo Meeting, Teams, Meet)."""

    id: str = Field(primary_key=True)  # pro_…
    account_id: str = Field(foreign_key="account.id", index=True)
    provider: str  # zoom | goto | teams | meet
    name: str = ""
    credentials_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    status: str = "active"  # active | disconnected
    status_reason: str = ""
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ManagedEvent(SQLModel, table=True):
    """An event written through our API: what the caller asked for and how far the write got.

    The daemon works through these rows (``next_attempt_at`` with a lease) so writes to the
    provider and conferencing creation survive crashes and are never done twice.
    """

    __table_args__ = (
        UniqueConstraint("calendar_id", "event_id"),
        Index("ix_managed_event_due", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="application.id", index=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    calendar_id: str = Field(foreign_key="calendar.id")
    event_id: str  # the caller's id
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: ManagedEventState = _status(ManagedEventState, ManagedEventState.PENDING_WRITE)
    provider_event_id: str | None = None
    #: none | pending | assigned | failing
    conferencing_state: str = "none"
    conferencing: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    #: The external meeting (Zoom/GoTo id) created for this event, so a retry reuses it.
    conference_meeting_id: str | None = None
    conference_profile_id: str | None = None
    #: Chosen once, when the row is first claimed: what a meeting that is only a name
    #: (an 8x8 room) is derived from, so every attempt of the job makes the same one.
    conference_secret: str | None = None
    attempts: int = 0
    next_attempt_at: dt.datetime | None = _utc()
    last_error: str | None = None
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = _utc()
    deleted_at: dt.datetime | None = _utc()
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


class NotificationChannel(SQLModel, table=True):
    """A push notification channel (Cronofy ``/v1/channels``) of one account."""

    id: str = Field(primary_key=True)  # chn_…
    application_id: str = Field(foreign_key="application.id", index=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    callback_url: str = Field(sa_column=Column(Text, nullable=False))
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    closed_at: dt.datetime | None = _utc()


class OutboxMessage(SQLModel, table=True):
    """One webhook delivery, persisted before it is attempted so none is ever lost."""

    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    #: Stable id sent with every attempt so receivers can deduplicate.
    delivery_id: str = Field(index=True, unique=True)
    application_id: str = Field(foreign_key="application.id", index=True)
    kind: str  # verification | change | profile_disconnected | conferencing_assigned | …
    url: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    next_attempt_at: dt.datetime | None = _utc()
    delivered_at: dt.datetime | None = _utc()
    abandoned_at: dt.datetime | None = _utc()
    last_error: str | None = None
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = _utc()
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class PushChannel(SQLModel, table=True):
    """A provider push subscription (Google events.watch, Graph subscription) for a calendar."""

    id: str = Field(primary_key=True)  # our channel id, sent to the provider
    profile_id: str = Field(foreign_key="profile.id", index=True)
    calendar_id: str = Field(foreign_key="calendar.id", index=True)
    provider: str
    #: The provider's id for it (Google resourceId, Graph subscription id). Indexed:
    #: Graph notifications name only the subscription.
    provider_resource_id: str | None = Field(default=None, index=True)
    #: Hash of the secret the provider echoes back (Google token, Graph clientState).
    secret_hash: str
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    #: Where the provider was told to call (``push_base_url`` + ``/push/<provider>``);
    #: when the configured one differs (or is unknown: NULL) the channel is replaced.
    callback_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: The provider asked for reauthorization (Graph ``reauthorizationRequired``): the
    #: next maintenance pass renews the channel whatever its expiry.
    renew_requested: bool = False


class AvailabilityRule(SQLModel, table=True):
    """An account's working hours (Cronofy availability rule): weekly periods in a zone.

    ``rule_id`` is the caller's ``availability_rule_id``; ``weekly_periods`` holds
    ``[{day, start_time, end_time}]`` exactly as given (a day may repeat)."""

    __table_args__ = (UniqueConstraint("account_id", "rule_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    rule_id: str
    tzid: str
    calendar_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    weekly_periods: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class SchedulingLink(SQLModel, table=True):
    """A Real-Time Scheduling link: a stored availability query an invitee books from.

    The link's token (the last segment of its URL) is stored hashed for lookup and
    encrypted so status reads can answer the URL again."""

    id: str = Field(primary_key=True)  # sch_…
    application_id: str = Field(foreign_key="application.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    token_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    #: The validated request: event, availability, target calendars, callbacks, …
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "open"  # open | completed | disabled
    display_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Completed after one booking (Cronofy's links are); a reusable link stays open.
    single_use: bool = True
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Booking(SQLModel, table=True):
    """One slot booked through a scheduling link, with the invitee and what was created."""

    __table_args__ = (Index("ix_booking_link", "link_id", "status"),)

    id: str = Field(primary_key=True)  # bkg_…
    link_id: str = Field(foreign_key="schedulinglink.id")
    application_id: str = Field(foreign_key="application.id", index=True)
    start_utc: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end_utc: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = "booked"  # booked | cancelled | rescheduled
    invitee_name: str = ""
    invitee_email: str = ""
    invitee_tzid: str = "Etc/UTC"
    #: correlation_id and utm_* values, echoed in the callback.
    prefill: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: ``[[account_id, calendar_id, event_id]]`` of the managed events written for it.
    events: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Hashes of the one-time reschedule and cancel tokens (None once used).
    reschedule_token_hash: str | None = Field(default=None, index=True)
    cancel_token_hash: str | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class BookingHold(SQLModel, table=True):
    """Time a booking holds in one member's calendar until (and after) the written event
    is synced back: availability counts it as busy, so the next invitee cannot take it."""

    __table_args__ = (Index("ix_bookinghold_range", "account_id", "start_utc", "end_utc"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", index=True)
    account_id: str = Field(foreign_key="account.id")
    start_utc: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end_utc: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# --------------------------------------------------------------------------- identity
# How people sign in to the hosted pages (syncd/identity): docs/web.md.


class AccountCredential(SQLModel, table=True):
    """An account's password (argon2id) and TOTP secret (encrypted); one row per account."""

    account_id: str = Field(primary_key=True, foreign_key="account.id")
    password_hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    password_changed_at: dt.datetime | None = _utc()
    totp_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Set once the first code confirmed the secret; before that TOTP is not required.
    totp_enabled_at: dt.datetime | None = _utc()
    #: The last TOTP time step accepted, so a code is never accepted twice.
    totp_last_step: int | None = None


class RecoveryCode(SQLModel, table=True):
    """A single-use TOTP recovery code; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    code_hash: str = Field(index=True, unique=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    used_at: dt.datetime | None = _utc()


class AccountInvite(SQLModel, table=True):
    """A one-time link to set an account's password; only the token's hash is stored."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(index=True, unique=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = _utc()


class WebSession(SQLModel, table=True):
    """A browser session of the hosted pages, for an account or the operator.

    Only the SHA-256 of the cookie's token is stored. ``stage`` is ``second_factor``
    between a correct password and the TOTP code, ``signed_in`` after.
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    kind: str = "account"  # account | operator
    application_id: str | None = Field(default=None, foreign_key="application.id")
    account_id: str | None = Field(default=None, foreign_key="account.id", index=True)
    stage: str = "signed_in"  # second_factor | signed_in
    created_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: dt.datetime | None = _utc()
    client_address: str = ""
    user_agent: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class SignInAttempt(SQLModel, table=True):
    """One sign-in attempt, kept for rate limiting and the "recent sign-ins" list."""

    __table_args__ = (
        Index("ix_signinattempt_login", "application_id", "login", "at"),
        Index("ix_signinattempt_address", "client_address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "account"  # account | operator
    application_id: str | None = None
    #: The email typed (lower case), or ``operator``.
    login: str
    account_id: str | None = Field(default=None, index=True)
    client_address: str = ""
    user_agent: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    succeeded: bool = False
    #: password | totp | recovery_code
    method: str = "password"
    at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class OperatorCredential(SQLModel, table=True):
    """The operator's password for the operator view (``syncd operator set-password``)."""

    id: str = Field(default="operator", primary_key=True)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    changed_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
