"""The contract every calendar provider adapter implements, and the errors they share.

Adapters translate one provider's HTTP API into these plain dataclasses. They never
touch the database: the sync engine (``syncd.sync``) persists what they return and
hands back the cursor it stored. Errors are typed so the engine can decide between
"retry later", "resync from scratch" and "the user must reauthorize" without knowing
anything about the provider.
"""

from __future__ import annotations

import datetime as dt
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from providers.errors import (
    AlreadyExists,
    AuthRevoked,
    CursorExpired,
    InvalidRemoteData,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
    Unsupported,
    UntrustedHost,
)
from providers.retry import with_retries

__all__ = [
    # errors (defined in providers.errors)
    "AlreadyExists",
    "AuthRevoked",
    "CursorExpired",
    "InvalidRemoteData",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "Unsupported",
    "UntrustedHost",
    # data
    "Attendee",
    "ChangePage",
    "Conferencing",
    "EventStatus",
    "EventWriteSupport",
    "Geo",
    "RECURRENCE_FREQUENCIES",
    "OAuthClient",
    "Organizer",
    "ParticipationStatus",
    "ProviderEndpoints",
    "PushCallback",
    "PushNotification",
    "PushRequest",
    "PushWatch",
    "RemoteCalendar",
    "RemoteEvent",
    "ServiceIdentity",
    "Transparency",
    "geo_or_none",
    "own_participation",
    # the contract
    "CalendarProvider",
    "OAuthCalendarProvider",
]

_T = TypeVar("_T")

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

EventStatus = Literal["confirmed", "tentative", "cancelled"]
Transparency = Literal["opaque", "transparent"]
ParticipationStatus = Literal["needs_action", "accepted", "declined", "tentative", "unknown"]


@dataclass(frozen=True)
class RemoteCalendar:
    """One calendar as the provider lists it."""

    provider_calendar_id: str
    name: str
    readonly: bool = False
    primary: bool = False
    integrated_conferencing_available: bool = False
    timezone: str | None = None


@dataclass(frozen=True)
class ServiceIdentity:
    """What the account's calendar service is, in Cronofy's vocabulary.

    ``provider_name`` is what ``/v1/calendars`` and ``/v1/profiles`` show (Cronofy's
    values where one applies: ``apple``, ``google``, ``office365``, ``live_connect``,
    ``exchange``); ``provider_service`` the finer ``provider_service`` of
    ``/v1/profiles`` (``icloud``, ``google``, ``gsuite``, ``office365``, ``outlook_com``).
    """

    provider_name: str
    provider_service: str


@dataclass(frozen=True)
class Conferencing:
    """Join details attached to an event."""

    provider_description: str
    join_url: str
    password: str | None = None
    provider_meeting_id: str | None = None


@dataclass(frozen=True)
class Attendee:
    """One person invited to an event, as the provider lists them.

    ``status`` is their reply (``needs_action`` when the provider says none); ``is_self``
    marks the entry of the account whose calendar this is, which decides the event's
    ``participation_status``.
    """

    email: str
    display_name: str = ""
    status: ParticipationStatus = "needs_action"
    is_self: bool = False


@dataclass(frozen=True)
class Organizer:
    """Who organises an event; ``is_self`` when it is the calendar's own account."""

    email: str
    display_name: str = ""
    is_self: bool = False


@functools.lru_cache(maxsize=4096)
def shared_attendee(
    email: str, display_name: str, status: ParticipationStatus, is_self: bool
) -> Attendee:
    """The Attendee of these values, each distinct one made once per process: the same
    people reply alike to many events, and an Attendee is immutable, so one object
    serves them all (adapters map thousands of items a page)."""
    return Attendee(email=email, display_name=display_name, status=status, is_self=is_self)


@functools.lru_cache(maxsize=1024)
def shared_organizer(email: str, display_name: str, is_self: bool) -> Organizer:
    """The Organizer of these values, made once (as :func:`shared_attendee`): the
    calendar's own account organises most of its events."""
    return Organizer(email=email, display_name=display_name, is_self=is_self)


def own_participation(
    attendees: list[Attendee], organizer: Organizer | None
) -> ParticipationStatus:
    """The account's reply to an event, from its own attendee entry.

    An entry without a reply is ``needs_action``. The organizer of their own event, and
    the owner of an event with neither attendees nor organizer, have accepted it; an
    invitation from someone else that lists no attendees (the guest list hidden) is
    ``needs_action``. ``unknown`` is left for an event whose attendee list does not
    include the account at all (someone else's event in a shared calendar).
    """
    for attendee in attendees:
        if attendee.is_self:
            return attendee.status
    if organizer is not None and organizer.is_self:
        return "accepted"
    if not attendees:
        return "accepted" if organizer is None else "needs_action"
    return "unknown"


@dataclass(frozen=True)
class Geo:
    """Coordinates of an event's location, in decimal degrees (WGS 84)."""

    latitude: float
    longitude: float


def geo_or_none(latitude: Any, longitude: Any) -> Geo | None:
    """Coordinates a provider gave, or None when either is missing or out of range
    (a bad pair is dropped, not the whole item)."""
    if latitude is None or longitude is None:  # most items: no coordinates at all
        return None
    try:
        lat, long = float(latitude), float(longitude)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(latitude, bool) or isinstance(longitude, bool):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= long <= 180.0):
        return None  # NaN fails both comparisons too
    return Geo(latitude=lat, longitude=long)


#: Cronofy's recurrence frequencies, each an RRULE ``FREQ``.
RECURRENCE_FREQUENCIES = ("daily", "weekly", "monthly", "yearly")


@dataclass(frozen=True)
class EventWriteSupport:
    """What an adapter can write of an event, declared once per adapter class.

    The API refuses (422, naming the field) anything in a request the calendar's adapter
    does not declare here, so nothing is accepted and then dropped; the core never asks
    which provider it is. ``reminders`` is how many reminders the provider keeps: a
    request lists them in priority order and the first ones are written (Cronofy's rule).
    """

    attendees: bool = False
    reminders: int = 0
    url: bool = False
    color: bool = False
    private: bool = False
    geo: bool = False
    #: The ``recurrence.rules[].frequency`` values it writes (``RECURRENCE_FREQUENCIES``).
    recurrence: frozenset[str] = frozenset()
    #: ``by_day`` on weekly rules.
    recurrence_by_day: bool = False
    #: ``set_participation_status``: the account's own reply to an invitation.
    participation_status: bool = False
    #: ``update_event_fields``: change an event that was not written through the API.
    update_external: bool = False
    #: ``create_calendar``, and whether it takes a ``#rrggbb`` colour.
    create_calendar: bool = False
    calendar_color: bool = False
    #: Whether the provider refuses two calendars of one name (``create_calendar``).
    unique_calendar_names: bool = False


@dataclass(slots=True)
class RemoteEvent:
    """One provider item, normalised.

    An item is a single event, the master of a recurring series (``recurrence`` holds its
    RRULE/EXDATE/RDATE lines, e.g. ``["RRULE:FREQ=WEEKLY;COUNT=5"]``), or one modified or
    cancelled instance of a series (``recurring_event_id`` names the master's
    ``provider_event_id`` and ``original_start`` the instance it replaces).

    Timed events carry timezone-aware ``start``/``end`` datetimes and the IANA ``tzid``
    they were written in (recurrences expand in that zone, so DST is honoured); floating
    times whose zone the adapter cannot know (CalDAV without ``calendar-timezone``) stay
    naive with no ``tzid``, and syncd places them in the account's zone. All-day
    events carry ``datetime.date`` values and ``all_day=True``; ``end`` is exclusive.

    ``ical`` optionally carries the whole iCalendar text of the item (CalDAV resources),
    in which case series expansion uses it directly and ``recurrence`` may be empty.
    ``instance_participation`` then holds the user's reply to single instances, by the
    instance's RECURRENCE-ID (``YYYYMMDDTHHMMSSZ`` in UTC, ``YYYYMMDDTHHMMSS`` floating,
    ``YYYYMMDD`` for dates): an override's own ATTENDEE line decides that instance.

    ``attendees`` and ``organizer`` are the people as the provider lists them (the
    account's own entry marked ``is_self``); ``participation_status`` is the account's
    reply (:func:`own_participation`), and ``can_reply`` whether the provider lets the
    account change it (it is an attendee, not the organizer).

    Slotted: a full sync holds a page of thousands at once, and without a ``__dict__``
    each is a fraction of the memory and quicker to make (0.58 against 1.02 µs).
    """

    provider_event_id: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    ical_uid: str | None = None
    tzid: str | None = None
    all_day: bool = False
    summary: str = ""
    description: str = ""
    location: str = ""
    status: EventStatus = "confirmed"
    transparency: Transparency = "opaque"
    participation_status: ParticipationStatus = "unknown"
    recurrence: list[str] = field(default_factory=list)
    recurring_event_id: str | None = None
    original_start: dt.datetime | dt.date | None = None
    ical: str | None = None
    conferencing: Conferencing | None = None
    #: Written fields (``EventWriteSupport`` says which an adapter honours): reminders in
    #: minutes before the start (``None``: the calendar's default, ``[]``: none), the
    #: event's URL, its colour as ``#rrggbb``, private visibility and coordinates.
    reminders: list[int] | None = None
    url: str | None = None
    color: str | None = None
    private: bool = False
    geo: Geo | None = None
    updated: dt.datetime | None = None
    etag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    instance_participation: dict[str, ParticipationStatus] = field(default_factory=dict)
    attendees: list[Attendee] = field(default_factory=list)
    organizer: Organizer | None = None
    can_reply: bool = False
    #: An occurrence the provider expanded itself (Graph's calendarView): its series
    #: master's id. The master is not synced as an item; the occurrence is ``recurring``.
    series_master_id: str | None = None


@dataclass
class ChangePage:
    """One page of changes, committed by the engine in one transaction with ``cursor``.

    ``cursor`` is opaque to the engine; passing it back to ``sync_events`` resumes right
    after this page. ``complete`` is true on the last page of a sync (the cursor is then
    the provider's incremental token). ``full_sync`` is true when the pages describe the
    calendar's whole content (started with ``cursor=None``): once the last one is
    committed, every stored event that was not seen in them is gone.
    """

    upserts: list[RemoteEvent] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    cursor: str | None = None
    complete: bool = False
    full_sync: bool = False
    skipped: int = 0


@dataclass(frozen=True)
class PushWatch:
    """A live push subscription at the provider (Google channel, Graph subscription)."""

    #: The provider's id for it: Google's ``resourceId``, Graph's subscription ``id``.
    provider_resource_id: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class PushRequest:
    """One HTTP call a provider made to the push receiver, as the receiver got it."""

    method: str
    #: Header names lower-cased; the first value of a repeated header.
    headers: Mapping[str, str]
    query: Mapping[str, str]
    #: ``None`` when the body was larger than the receiver reads.
    body: bytes | None = b""


@dataclass(frozen=True)
class PushNotification:
    """One "this calendar changed" entry of a callback; nothing in it is trusted yet.

    The receiver finds the channel by ``find_by``: our ``channel_id`` when the provider
    echoes it back (Google), or the provider's ``provider_resource_id`` (Graph's
    subscription id). The other id, when present, must agree with the channel, and
    ``secret`` must be the channel's secret (Google's token, Graph's clientState).
    """

    channel_id: str | None = None
    provider_resource_id: str | None = None
    secret: str | None = None
    find_by: Literal["channel_id", "provider_resource_id"] = "channel_id"
    #: False for a handshake that reports no change (Google's ``sync`` message).
    changed: bool = True
    #: A lifecycle notification about the channel itself rather than a change (Graph's
    #: ``lifecycleEvent``): ``reauthorize`` (renew it now or lose it), ``missed`` (some
    #: changes were not notified: sync) or ``removed`` (it is gone: create another, sync).
    lifecycle: Literal["reauthorize", "missed", "removed"] | None = None


@dataclass(frozen=True)
class PushCallback:
    """What one callback amounted to, before any channel is looked up.

    ``handshake_reply`` is text to answer as-is (text/plain) instead of processing
    notifications: a subscription validation (Graph's ``validationToken``).
    ``accepted_status`` is the 2xx status the provider expects for a genuine callback.
    """

    notifications: tuple[PushNotification, ...] = ()
    handshake_reply: str | None = None
    accepted_status: int = 200


@dataclass(frozen=True)
class ProviderEndpoints:
    """Base URLs an adapter talks to; overridable so tests can point at 127.0.0.1."""

    api_base_url: str | None = None
    token_url: str | None = None
    authorize_url: str | None = None


@dataclass
class OAuthClient:
    """The operator's OAuth client registration for a provider."""

    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = "http://127.0.0.1:8765/oauth/callback"
    scopes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------
# The adapter contract
# ---------------------------------------------------------------------------


class CalendarProvider(ABC):
    """A calendar provider adapter, built from one profile's decrypted credentials.

    Registered under the ``syncd.providers`` entry-point group by ``name``.
    """

    name: ClassVar[str]
    #: Whether credentials come from an OAuth authorization-code flow (Google, Microsoft)
    #: rather than being typed in (CalDAV).
    uses_oauth: ClassVar[bool] = False
    #: Whether ``watch_calendar``/``stop_watch`` work: the provider can call us back on
    #: changes, so a sync can start within seconds instead of at the next poll.
    supports_push: ClassVar[bool] = False
    #: Which event fields and write operations it honours (the API refuses the rest).
    write_support: ClassVar[EventWriteSupport] = EventWriteSupport()

    #: Retry policy for provider requests (instances may shrink it, e.g. in tests).
    retry_attempts: int = 5
    retry_initial_wait: float = 0.5
    retry_max_wait: float = 30.0

    def __init__(
        self,
        credentials: dict[str, Any],
        endpoints: ProviderEndpoints | None = None,
        oauth_client: OAuthClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.credentials = dict(credentials)
        self.endpoints = endpoints or ProviderEndpoints()
        self.oauth_client = oauth_client or OAuthClient()
        self.timeout = timeout

    def _with_retries(self, func: Callable[[], _T]) -> _T:
        """Run one provider request under the shared retry policy (providers.retry)."""
        return with_retries(
            func,
            attempts=self.retry_attempts,
            initial_wait=self.retry_initial_wait,
            max_wait=self.retry_max_wait,
        )

    @classmethod
    def write_support_for(cls, credentials: Mapping[str, Any]) -> EventWriteSupport:
        """What one profile's adapter can write, judged from its stored credentials
        without calling the provider (default: ``write_support``). An adapter whose
        writes depend on the account (a CalDAV account needs an e-mail address to
        organize invitations) narrows it here, so the API refuses the field up front."""
        return cls.write_support

    def service_identity(self) -> ServiceIdentity:
        """The service these credentials reach, as Cronofy names it (default: the
        adapter's own name, an extension value)."""
        return ServiceIdentity(self.name, self.name)

    @abstractmethod
    def profile_name(self) -> str:
        """A human name for the connected account (usually its e-mail address)."""

    @abstractmethod
    def list_calendars(self) -> list[RemoteCalendar]:
        """Every calendar the credentials can see."""

    @abstractmethod
    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        """Pages of changes since ``cursor`` (``None``: everything). Raises CursorExpired."""

    def upsert_event(self, calendar: RemoteCalendar, event: RemoteEvent) -> RemoteEvent:
        """Create or replace an event; returns it as the provider stored it."""
        raise PermissionDenied(f"{self.name} does not support writing events")

    def delete_event(self, calendar: RemoteCalendar, provider_event_id: str) -> None:
        """Delete an event; deleting a missing event is not an error."""
        raise PermissionDenied(f"{self.name} does not support deleting events")

    def create_integrated_conference(
        self, calendar: RemoteCalendar, event: RemoteEvent
    ) -> Conferencing | None:
        """Attach the calendar's own conferencing; ``None`` while the provider is still working."""
        raise PermissionDenied(f"{self.name} has no integrated conferencing")

    def update_event_fields(
        self, calendar: RemoteCalendar, event: RemoteEvent, fields: frozenset[str]
    ) -> RemoteEvent:
        """Change only ``fields`` (names of ``RemoteEvent`` attributes) of an existing event
        that was not written through the API, leaving everything else as its owner made it;
        returns it as stored. NotFound when it is gone."""
        raise PermissionDenied(f"{self.name} cannot update events it did not write")

    def set_participation_status(
        self, calendar: RemoteCalendar, provider_event_id: str, status: ParticipationStatus
    ) -> None:
        """Answer an invitation as the account (``accepted``, ``tentative``, ``declined``).

        PermissionDenied when the account is not an attendee of the event."""
        raise PermissionDenied(f"{self.name} cannot change participation status")

    def create_calendar(self, name: str, color: str | None = None) -> RemoteCalendar:
        """Create a calendar (``color`` as ``#rrggbb``); ``AlreadyExists`` when the provider
        refuses a second calendar of that name."""
        raise PermissionDenied(f"{self.name} cannot create calendars")

    def refreshed_credentials(self) -> dict[str, Any] | None:
        """Credentials to persist if they changed (token refresh, rotated refresh token)."""
        return None

    # -- push (optional; see ``supports_push``) ------------------------------

    def watch_calendar(
        self,
        calendar: RemoteCalendar,
        channel_id: str,
        token: str,
        callback_url: str,
        ttl: dt.timedelta,
    ) -> PushWatch:
        """Ask the provider to POST ``callback_url`` when the calendar's events change.

        ``channel_id`` and ``token`` come back with every notification, so the receiver
        can tell a genuine call from a forged one. The provider may shorten ``ttl``.
        """
        raise PermissionDenied(f"{self.name} has no push notifications")

    def renew_watch(self, provider_resource_id: str, ttl: dt.timedelta) -> dt.datetime:
        """Extend a live subscription in place; returns its new expiry.

        PermissionDenied (the default) means "cannot": the caller replaces the channel
        with a new one instead (Google channels cannot be extended).
        """
        raise PermissionDenied(f"{self.name} cannot renew a push channel in place")

    def stop_watch(self, channel_id: str, provider_resource_id: str) -> None:
        """End a subscription; stopping one the provider no longer knows is not an error."""
        raise PermissionDenied(f"{self.name} has no push notifications")

    @classmethod
    def parse_push_notification(cls, request: PushRequest) -> PushCallback:
        """Read a call the provider made to ``/push/<name>`` (the ``callback_url``).

        Only parsing: the receiver checks each notification against its channel.
        Raises InvalidRemoteData when the call is not one this provider makes.
        """
        raise PermissionDenied(f"{cls.name} has no push notifications")


class OAuthCalendarProvider(CalendarProvider):
    """A provider whose credentials come from an OAuth authorization-code grant."""

    uses_oauth: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def authorization_url(
        cls,
        oauth_client: OAuthClient,
        endpoints: ProviderEndpoints,
        state: str,
    ) -> str:
        """Where to send the user to grant access."""

    @classmethod
    @abstractmethod
    def exchange_code(
        cls,
        oauth_client: OAuthClient,
        endpoints: ProviderEndpoints,
        code: str,
    ) -> dict[str, Any]:
        """Trade an authorization code for credentials to store. Raises AuthRevoked."""

    @classmethod
    def _with_email(
        cls,
        credentials: dict[str, Any],
        endpoints: ProviderEndpoints,
        oauth_client: OAuthClient,
    ) -> dict[str, Any]:
        """``credentials`` (just granted) plus the account's ``email``, read with them."""
        provider = cls(credentials, endpoints=endpoints, oauth_client=oauth_client)
        credentials["email"] = provider.profile_name()
        return credentials

    @classmethod
    def credentials_from_refresh_token(cls, refresh_token: str) -> dict[str, Any]:
        """Credentials for an imported grant; the access token is fetched on first use."""
        return {"refresh_token": refresh_token}
