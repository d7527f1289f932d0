"""GET /v1/free_busy: the account's busy, tentative and free blocks, paged.

``from`` and ``to`` are dates (midnight in ``tzid``) or times, by default 42 days back
and 201 days ahead as Cronofy's; blocks overlapping ``[from, to)`` are returned in start
order. Events written through the API count only with ``include_managed=true``.
Following ``pages.next_page`` returns the next page of the same query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session

from syncd.api.auth import account_caller
from syncd.api.context import app_settings, db_session, now
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
from syncd.api.schemas import FreeBusyBlock, FreeBusyResponse, LocalizedTime, Pages
from syncd.config import Settings
from syncd.cronofy.times import (
    default_window,
    format_local,
    format_utc,
    parse_bound,
    parse_zone,
)
from syncd.errors import FieldErrors, invalid
from syncd.store.events import BusySpan
from syncd.store.models import Account
from syncd.store.queries import SpanKey, calendar_ids_by_account, count_spans, page_of_spans

router = APIRouter(tags=["free_busy"])

#: Blocks per page; ``app.state.free_busy_page_size`` overrides it (tests use small pages).
FREE_BUSY_PAGE_SIZE = 500


@dataclass(frozen=True)
class FreeBusyQuery:
    """Everything that defines the result set; a page token carries exactly this."""

    start: str
    end: str
    tzid: str
    calendar_ids: list[str] | None
    localized_times: bool
    include_managed: bool = False
    page: int = 1
    #: The last span served (start, end, calendar id, occurrence id): keyset paging.
    after: list[Any] | None = None


@router.get("/v1/free_busy", response_model=FreeBusyResponse, response_model_exclude_none=True)
def read_free_busy(
    request: Request,
    tzid: str = Query(description="IANA time zone of dates in from/to (and localized times)"),
    from_: str | None = Query(
        default=None, alias="from", description="Date (YYYY-MM-DD) or ISO 8601 time"
    ),
    to: str | None = Query(default=None, description="Date or time; exclusive"),
    calendar_ids: list[str] | None = Query(default=None, alias="calendar_ids[]"),
    include_managed: bool = Query(
        default=False, description="Count events written through the API too"
    ),
    localized_times: bool = Query(default=False),
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
    current: dt.datetime = Depends(now),
) -> FreeBusyResponse:
    zone = parse_zone(tzid)
    problems = FieldErrors()
    bounds: dict[str, dt.datetime] = {}
    defaults = default_window(current, zone)
    for field, text in (("from", from_), ("to", to)):
        try:
            bounds[field] = parse_bound(text or defaults[field], zone, field)
        except FieldErrors as error:
            problems.errors.update(error.errors)
    problems.raise_if_any()
    if bounds["to"] <= bounds["from"]:
        raise invalid("to", "errors.invalid_time_pair", "to must be after from")
    query = FreeBusyQuery(
        start=bounds["from"].isoformat(),
        end=bounds["to"].isoformat(),
        tzid=tzid,
        calendar_ids=calendar_ids,
        localized_times=localized_times,
        include_managed=include_managed,
    )
    return _answer(request, query, account, session, settings)


@router.get(
    "/v1/free_busy/pages/{page_token}",
    response_model=FreeBusyResponse,
    response_model_exclude_none=True,
)
def read_free_busy_page(
    request: Request,
    page_token: str,
    account: Account = Depends(account_caller),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
) -> FreeBusyResponse:
    """A later page of a free/busy query (the URL comes from ``pages.next_page``)."""
    query = _query_from_token(page_token, token_keys(settings))
    return _answer(request, query, account, session, settings)


def _query_from_token(token: str, keys: list[bytes]) -> FreeBusyQuery:
    """The query a verified token carries; a token that does not verify, or carries
    anything we would not have written, is a 404."""
    state = decode_page_token(token, keys)
    if state is None:
        raise unknown_page()
    try:
        query = FreeBusyQuery(**state)
        token_time(query.start)
        token_time(query.end)
        ZoneInfo(token_str(query.tzid))
        token_ids(query.calendar_ids)
        token_page(query.page)
        if not isinstance(query.localized_times, bool) or not isinstance(
            query.include_managed, bool
        ):
            raise ValueError("not a flag")
        _span_key(query.after)
    except (TypeError, ValueError, KeyError, OSError):
        raise unknown_page() from None
    return query


def _span_key(after: list[Any] | None) -> SpanKey | None:
    if after is None:
        return None
    if not isinstance(after, list) or len(after) != 4:
        raise ValueError("not a span key")
    return (token_time(after[0]), token_time(after[1]), token_str(after[2]), token_int(after[3]))


def _answer(
    request: Request,
    query: FreeBusyQuery,
    account: Account,
    session: Session,
    settings: Settings,
) -> FreeBusyResponse:
    calendar_ids = _calendars_to_read(session, account, query.calendar_ids)
    start = dt.datetime.fromisoformat(query.start)
    end = dt.datetime.fromisoformat(query.end)
    page_size: int = getattr(request.app.state, "free_busy_page_size", FREE_BUSY_PAGE_SIZE)
    managed = query.include_managed
    total = page_count(count_spans(session, calendar_ids, start, end, managed), page_size)
    spans, last = page_of_spans(
        session,
        calendar_ids,
        start,
        end,
        _span_key(query.after),
        limit=page_size,
        include_managed=managed,
    )
    zone = ZoneInfo(query.tzid) if query.localized_times else None
    next_page = None
    if last is not None:
        after = [last[0].isoformat(), last[1].isoformat(), last[2], last[3]]
        state = asdict(query) | {"page": query.page + 1, "after": after}
        token = encode_page_token(state, token_keys(settings))
        next_page = f"{public_base_url(request, settings)}/v1/free_busy/pages/{token}"
    return FreeBusyResponse(
        pages=Pages(current=query.page, total=max(total, query.page), next_page=next_page),
        free_busy=[_block(span, zone) for span in spans],
    )


def _calendars_to_read(
    session: Session, account: Account, requested: list[str] | None
) -> list[str]:
    """The requested calendars if all are the account's (else 422), or all of them."""
    own = calendar_ids_by_account(session, [account.id])[account.id]
    if not requested:
        return own
    unknown = [calendar_id for calendar_id in requested if calendar_id not in set(own)]
    if unknown:
        raise invalid(
            "calendar_ids", "errors.not_found", f"no such calendar: {', '.join(unknown[:5])}"
        )
    return list(dict.fromkeys(requested))


def _block(span: BusySpan, zone: ZoneInfo | None) -> FreeBusyBlock:
    """All-day blocks as dates; others in UTC, or with ``localized_times`` Cronofy's
    ``{"time": <local time with offset>, "tzid": <tzid>}`` (as ``/v1/events`` answers)."""
    start: Any
    end: Any
    if span.all_day:
        start, end = span.start_text[:10], span.end_text[:10]
    elif zone is not None:
        start = LocalizedTime(time=format_local(span.start, zone), tzid=zone.key)
        end = LocalizedTime(time=format_local(span.end, zone), tzid=zone.key)
    else:
        start, end = format_utc(span.start), format_utc(span.end)
    return FreeBusyBlock(
        calendar_id=span.calendar_id,
        start=start,
        end=end,
        free_busy_status=span.free_busy_status,
    )
