"""Events: upsert and delete managed events, read an account's events.

``POST``/``DELETE /v1/calendars/{calendar_id}/events`` only record what the caller wants
(a ``ManagedEvent`` due now) in the request's transaction and answer 202; the daemon
writes to the provider and creates conferencing (``syncd.conferencing.worker``). The
same body twice changes nothing. ``GET /v1/events`` reads the synced store, paged with
absolute ``next_page`` links like free/busy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_box, app_settings, db_session, now, write_session
from syncd.api.event_bodies import (
    MAX_REMINDERS,
    AttendeesIn,
    EventUrl,
    Latitude,
    Longitude,
    RecurrenceIn,
    ReminderIn,
)
from syncd.api.paging import (
    decode_page_token,
    encode_page_token,
    page_count,
    public_base_url,
    token_ids,
    token_int,
    token_keys,
    token_page,
    token_str,
    token_time,
    unknown_page,
)
from syncd.api.schemas import Pages
from syncd.conferencing.event_fields import event_fields
from syncd.conferencing.external import external_event, queue_external_update
from syncd.conferencing.plan import check_requested_conferencing
from syncd.config import Settings
from syncd.cronofy.events import event_uid as series_event_uid
from syncd.cronofy.events import event_view, parse_occurrence_uid, tombstone_view
from syncd.cronofy.times import (
    default_window,
    parse_bound,
    parse_event_time,
    parse_zone,
    zone_or_error,
)
from syncd.errors import FieldErrors, NotFoundError, UserError, invalid
from syncd.notify.urls import validate_webhook_url
from syncd.store import managed as store
from syncd.store.crypto import SecretBox
from syncd.store.event_reads import DELETED, LIVE, EventsCursor, EventsFilter, events_page
from syncd.store.managed_requests import is_job
from syncd.store.models import Account, Calendar, Event
from syncd.store.queries import calendar_ids_by_account

router = APIRouter(tags=["events"])

#: Events per page; ``app.state.events_page_size`` overrides it (tests use small pages).
EVENTS_PAGE_SIZE = 100
INTERACTIONS = ("conferencing_assigned", "conferencing_failing")
#: Upsert fields ``syncd.conferencing.event_fields`` checks and merges.
EXTRA_FIELDS = frozenset(
    {"attendees", "reminders", "reminders_create_only", "url", "color", "event_private"}
    | {"location", "recurrence"}
)


# --------------------------------------------------------------------------- bodies


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LocationIn(_Lenient):
    """``lat``/``long`` are decimal degrees, as strings (Cronofy's) or numbers."""

    description: str = Field(default="", max_length=1024)
    lat: Latitude | None = None
    long: Longitude | None = None


class ConferencingIn(_Lenient):
    profile_id: str = Field(
        min_length=1,
        max_length=100,
        description='"default", "integrated", "explicit", "none" or a conferencing "pro_…"',
    )
    provider_description: str | None = Field(default=None, max_length=200)
    join_url: str | None = None


class InteractionIn(_Lenient):
    type: str


class SubscriptionIn(_Lenient):
    type: Literal["webhook"]
    uri: str = Field(min_length=1, max_length=2048)
    interactions: list[InteractionIn] = Field(min_length=1, max_length=10)


class EventUpsert(_Lenient):
    """POST /v1/calendars/{calendar_id}/events. ``start``/``end``: a UTC time, a date
    (all-day) or ``{"time": …, "tzid": …}``."""

    event_id: str | None = Field(default=None, min_length=1, max_length=200)
    event_uid: str | None = Field(
        default=None, max_length=200, description="An event not created through the API"
    )
    summary: str = Field(max_length=1024)
    description: str = Field(default="", max_length=8192)
    start: str | dict[str, Any]
    end: str | dict[str, Any]
    tzid: str = "Etc/UTC"
    location: LocationIn | None = None
    transparency: Literal["opaque", "transparent"] = "opaque"
    conferencing: ConferencingIn | None = None
    subscriptions: list[SubscriptionIn] | None = Field(default=None, max_length=10)
    attendees: AttendeesIn | None = None
    reminders: list[ReminderIn] | None = Field(default=None, max_length=MAX_REMINDERS)
    reminders_create_only: bool = False
    url: EventUrl | None = None
    color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    event_private: bool | None = None
    recurrence: RecurrenceIn | None = None
    attachments: list[Any] | None = Field(
        default=None, max_length=50, description="Not supported: only an empty list"
    )


class EventDelete(_Lenient):
    event_id: str | None = Field(default=None, max_length=200)
    event_uid: str | None = Field(default=None, max_length=200)


class EventsResponse(BaseModel):
    pages: Pages
    events: list[dict[str, Any]]


# --------------------------------------------------------------------------- upsert/delete


def _writable_calendar(session: Session, account: Account, calendar_id: str) -> Calendar:
    calendar = store.calendar_of_account(session, account.id, calendar_id)
    if calendar is None:
        raise NotFoundError("no such calendar for this account")
    if calendar.readonly:
        raise UserError(
            f"calendar {calendar_id} is read-only", code="calendar_readonly", http_status=403
        )
    return calendar


@router.post("/v1/calendars/{calendar_id}/events", status_code=202, response_class=Response)
def upsert_event(
    calendar_id: str,
    body: EventUpsert,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
    settings: Settings = Depends(app_settings),
    box: SecretBox = Depends(app_box),
) -> Response:
    """Create or update the managed event ``event_id``, or change the fields given of an
    event someone else made (``event_uid``); written by the daemon (202)."""
    calendar = _writable_calendar(session, account, calendar_id)
    if bool(body.event_id) == bool(body.event_uid):
        raise invalid("event_id", "errors.required", "give exactly one of event_id or event_uid")
    if body.event_uid:
        external = external_event(session, calendar, body.event_uid)
        request = _normalised(session, account, calendar, body, settings, external.row_key, box)
        queue_external_update(session, account, external, request, body.model_fields_set)
        return Response(status_code=202)
    assert body.event_id is not None
    if is_job(body.event_id):
        raise invalid("event_id", "errors.invalid", "this event_id prefix is reserved")
    request = _normalised(session, account, calendar, body, settings, body.event_id, box)
    store.upsert_managed_event(
        session, account.application_id, account.id, calendar.id, body.event_id, request
    )
    return Response(status_code=202)


@router.delete("/v1/calendars/{calendar_id}/events", status_code=202, response_class=Response)
def delete_event(
    calendar_id: str,
    body: EventDelete,
    account: Account = Depends(account_caller),
    session: Session = Depends(write_session, scope="function"),
) -> Response:
    """Delete a managed event (``event_id``) or a synced one (``event_uid``); 202."""
    calendar = _writable_calendar(session, account, calendar_id)
    if bool(body.event_id) == bool(body.event_uid):
        raise invalid("event_id", "errors.required", "give exactly one of event_id or event_uid")
    if body.event_id:
        store.request_delete(session, calendar.id, body.event_id)
        return Response(status_code=202)
    parsed = parse_occurrence_uid(body.event_uid or "")
    event = session.get(Event, parsed[0]) if parsed is not None else None
    if event is None or event.calendar_id != calendar.id:
        raise invalid("event_uid", "errors.not_found", "no such event in this calendar")
    if parsed is not None and parsed[1] is not None:
        raise invalid(
            "event_uid",
            "errors.unsupported",
            "deleting one occurrence of a recurring event is not supported; "
            f"event_uid {series_event_uid(event)} deletes the whole series",
        )
    if event.managed_event_id:
        store.request_delete(session, calendar.id, event.managed_event_id)
    else:
        store.request_external_delete(session, account.application_id, account.id, event)
    return Response(status_code=202)


def _normalised(
    session: Session,
    account: Account,
    calendar: Calendar,
    body: EventUpsert,
    settings: Settings,
    row_key: str,
    box: SecretBox,
) -> dict[str, Any]:
    """The request as stored: validated, times resolved; equal bodies give equal dicts."""
    problems = FieldErrors()
    zone = zone_or_error(body.tzid, "tzid", problems)
    start = parse_event_time(body.start, zone, "start", problems)
    end = parse_event_time(body.end, zone, "end", problems)
    all_day = isinstance(start, dt.date) and not isinstance(start, dt.datetime)
    if start is not None and end is not None:
        if all_day != (isinstance(end, dt.date) and not isinstance(end, dt.datetime)):
            problems.add("end", "errors.invalid", "start and end must both be dates or both times")
        elif end <= start:
            problems.add("end", "errors.invalid_time_pair", "end must be after start")
    if not body.summary.strip():
        problems.add("summary", "errors.required", "summary is required")
    conferencing = None
    if body.conferencing is not None:
        conferencing = check_requested_conferencing(
            session,
            account,
            calendar,
            body.conferencing.profile_id,
            body.conferencing.provider_description,
            body.conferencing.join_url,
            problems,
        )
    subscriptions = _subscriptions(body.subscriptions or [], settings, problems)
    if body.attachments:
        problems.add("attachments", "errors.not_supported", "attachments are not supported")
    given = body.model_dump(mode="json", include=set(EXTRA_FIELDS & body.model_fields_set))
    zone_name = _start_zone(body) or body.tzid
    extras = event_fields(session, calendar, row_key, given, (start, zone_name), problems, box=box)
    problems.raise_if_any()
    assert start is not None and end is not None
    return extras | {
        "summary": body.summary,
        "description": body.description,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "all_day": all_day,
        "tzid": zone_name,
        "location": body.location.description if body.location else "",
        "transparency": body.transparency,
        "conferencing": conferencing,
        "subscriptions": subscriptions,
    }


def _start_zone(body: EventUpsert) -> str | None:
    """The zone the event is written in: the start's own ``tzid`` wins over the body's."""
    if isinstance(body.start, dict) and isinstance(body.start.get("tzid"), str):
        return str(body.start["tzid"])
    return None


def _subscriptions(
    subscriptions: list[SubscriptionIn], settings: Settings, problems: FieldErrors
) -> list[dict[str, Any]]:
    stored = []
    for index, subscription in enumerate(subscriptions):
        field = f"subscriptions[{index}]"
        reason = _webhook_url_problem(subscription.uri, settings)
        if reason:
            problems.add(f"{field}.uri", "errors.invalid", reason)
        kinds = []
        for number, interaction in enumerate(subscription.interactions):
            if interaction.type not in INTERACTIONS:
                problems.add(
                    f"{field}.interactions[{number}].type",
                    "errors.invalid",
                    f"interaction type must be one of {', '.join(INTERACTIONS)}",
                )
            kinds.append(interaction.type)
        stored.append({"type": "webhook", "uri": subscription.uri, "interactions": kinds})
    return stored


def _webhook_url_problem(url: str, settings: Settings) -> str | None:
    """Why the webhook URL is refused (not http(s), private address…), or None."""
    try:
        validate_webhook_url(url, settings)
    except ValueError as error:
        return str(error)
    return None


# --------------------------------------------------------------------------- read


@dataclass(frozen=True)
class EventsQuery:
    """Everything that defines the result set; a page token carries exactly this."""

    start: str
    end: str
    tzid: str
    calendar_ids: list[str] | None
    include_managed: bool
    only_managed: bool
    include_deleted: bool
    last_modified: str | None
    localized_times: bool = False
    include_geo: bool = False
    page: int = 1
    #: Where the next page starts: ``{"phase": "live"|"deleted", "key": [...]}``.
    after: dict[str, Any] | None = None


@router.get("/v1/events", response_model=EventsResponse, response_model_exclude_none=True)
def read_events(
    request: Request,
    tzid: str = Query(description="IANA time zone of dates in from/to"),
    from_: str | None = Query(default=None, alias="from"),
    to: str | None = Query(default=None),
    calendar_ids: list[str] | None = Query(default=None, alias="calendar_ids[]"),
    include_managed: bool = Query(default=False),
    only_managed: bool = Query(default=False),
    include_deleted: bool = Query(default=False),
    last_modified: str | None = Query(default=None),
    include_moved: bool = Query(default=False, description="Accepted and ignored"),
    include_geo: bool = Query(
        default=False, description="location.lat/long where the provider gives coordinates"
    ),
    localized_times: bool = Query(
        default=False, description="Times as {time, tzid} in the event's zone (else tzid)"
    ),
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current: dt.datetime = Depends(now),
) -> EventsResponse:
    """The account's events overlapping ``[from, to)``; managed ones with ``include_managed``."""
    zone = parse_zone(tzid)
    problems = FieldErrors()
    bounds: dict[str, dt.datetime] = {}
    defaults = default_window(current, zone)
    for field, text in (("from", from_), ("to", to)):
        try:
            bounds[field] = parse_bound(text or defaults[field], zone, field)
        except FieldErrors as error:
            problems.errors.update(error.errors)
    modified = None
    if last_modified:
        try:
            modified = parse_bound(last_modified, zone, "last_modified")
        except FieldErrors as error:
            problems.errors.update(error.errors)
    problems.raise_if_any()
    if bounds["to"] <= bounds["from"]:
        raise invalid("to", "errors.invalid_time_pair", "to must be after from")
    query = EventsQuery(
        start=bounds["from"].isoformat(),
        end=bounds["to"].isoformat(),
        tzid=tzid,
        calendar_ids=calendar_ids,
        include_managed=include_managed or only_managed,
        only_managed=only_managed,
        include_deleted=include_deleted,
        last_modified=modified.isoformat() if modified else None,
        localized_times=localized_times,
        include_geo=include_geo,
    )
    return _answer(request, query, account, session, settings)


@router.get(
    "/v1/events/pages/{page_token}",
    response_model=EventsResponse,
    response_model_exclude_none=True,
)
def read_events_page(
    request: Request,
    page_token: str,
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
) -> EventsResponse:
    """A later page of an events query (the URL comes from ``pages.next_page``)."""
    state = decode_page_token(page_token, token_keys(settings))
    if state is None:
        raise unknown_page()
    try:
        query = EventsQuery(**state)
        token_time(query.start)
        token_time(query.end)
        if query.last_modified is not None:
            token_time(query.last_modified)
        ZoneInfo(token_str(query.tzid))
        token_ids(query.calendar_ids)
        token_page(query.page)
        flags = (
            query.include_managed,
            query.only_managed,
            query.include_deleted,
            query.localized_times,
            query.include_geo,
        )
        if not all(isinstance(flag, bool) for flag in flags):
            raise ValueError("not a flag")
        _cursor(query.after)
    except (TypeError, ValueError, KeyError, OSError):
        raise unknown_page() from None
    return _answer(request, query, account, session, settings)


def _cursor(after: dict[str, Any] | None) -> EventsCursor | None:
    """The cursor a token carries; ValueError when it is not one we write."""
    if after is None:
        return None
    if not isinstance(after, dict) or set(after) != {"phase", "key"}:
        raise ValueError("not a cursor")
    key = after["key"]
    if after["phase"] == LIVE and isinstance(key, list) and len(key) == 3:
        return EventsCursor(LIVE, (token_time(key[0]), token_time(key[1]), token_int(key[2])))
    if after["phase"] == DELETED and isinstance(key, list) and len(key) == 2:
        return EventsCursor(DELETED, (token_time(key[0]), token_int(key[1])))
    raise ValueError("not a cursor")


def _cursor_state(cursor: EventsCursor) -> dict[str, Any]:
    key = [value.isoformat() if isinstance(value, dt.datetime) else value for value in cursor.key]
    return {"phase": cursor.phase, "key": key}


def _answer(
    request: Request, query: EventsQuery, account: Account, session: Session, settings: Settings
) -> EventsResponse:
    own = calendar_ids_by_account(session, [account.id])[account.id]
    if query.calendar_ids:
        unknown = [cid for cid in query.calendar_ids if cid not in set(own)]
        if unknown:
            raise invalid(
                "calendar_ids", "errors.not_found", f"no such calendar: {', '.join(unknown[:5])}"
            )
        calendar_ids = list(dict.fromkeys(query.calendar_ids))
    else:
        calendar_ids = own
    where = EventsFilter(
        calendar_ids=calendar_ids,
        start=dt.datetime.fromisoformat(query.start),
        end=dt.datetime.fromisoformat(query.end),
        include_managed=query.include_managed,
        only_managed=query.only_managed,
        include_deleted=query.include_deleted,
        modified_since=(
            dt.datetime.fromisoformat(query.last_modified) if query.last_modified else None
        ),
    )
    page_size: int = getattr(request.app.state, "events_page_size", EVENTS_PAGE_SIZE)
    page = events_page(session, where, _cursor(query.after), page_size)
    zone = ZoneInfo(query.tzid) if query.localized_times else None
    events = [
        event_view(
            row.event,
            row.managed,
            row.start_text,
            row.end_text,
            occurrence_start=row.start_utc,
            readonly=row.readonly,
            localized_zone=zone,
            include_geo=query.include_geo,
        )
        for row in page.live
    ]
    events.extend(tombstone_view(row, localized_zone=zone) for row in page.deleted)
    total = max(page_count(page.total, page_size), query.page)
    next_page = None
    if page.next is not None:
        state = asdict(query) | {"page": query.page + 1, "after": _cursor_state(page.next)}
        token = encode_page_token(state, token_keys(settings))
        next_page = f"{public_base_url(request, settings)}/v1/events/pages/{token}"
    return EventsResponse(
        pages=Pages(current=query.page, total=total, next_page=next_page), events=events
    )
