"""Small read queries the HTTP API needs, always scoped to one application or account.

Every function takes the tenant (application or account) it reads for, so a caller
cannot forget the scope: rows of other applications are simply never selected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from syncd.store.events import BusySpan, select_spans, spans_in_range
from syncd.store.keyset import after_key
from syncd.store.models import Account, Calendar, Event, Occurrence, Profile


def accounts_of_application(
    session: Session, application_id: str, account_ids: Sequence[str]
) -> dict[str, Account]:
    """The accounts among ``account_ids`` that belong to ``application_id``, by id.

    Foreign and unknown ids are both simply absent, so callers cannot tell them apart.
    """
    if not account_ids:
        return {}
    rows = session.execute(
        select(Account).where(
            col(Account.id).in_(list(set(account_ids))),
            col(Account.application_id) == application_id,
        )
    ).scalars()
    return {account.id: account for account in rows}


def profiles_by_account(session: Session, account_ids: Sequence[str]) -> dict[str, list[Profile]]:
    """Every profile of each account (accounts without profiles map to an empty list)."""
    found: dict[str, list[Profile]] = {account_id: [] for account_id in account_ids}
    if not account_ids:
        return found
    rows = session.execute(
        select(Profile)
        .where(col(Profile.account_id).in_(list(found)))
        .order_by(col(Profile.created_at), col(Profile.id))
    ).scalars()
    for profile in rows:
        found[profile.account_id].append(profile)
    return found


def calendar_ids_by_account(session: Session, account_ids: Sequence[str]) -> dict[str, list[str]]:
    """Ids of the non-deleted calendars of each account, through its profiles."""
    found: dict[str, list[str]] = {account_id: [] for account_id in account_ids}
    if not account_ids:
        return found
    rows = session.execute(
        select(col(Profile.account_id), col(Calendar.id))
        .join(Profile, col(Profile.id) == col(Calendar.profile_id))
        .where(col(Profile.account_id).in_(list(found)), col(Calendar.deleted).is_(False))
        .order_by(col(Calendar.id))
    )
    for account_id, calendar_id in rows:
        found[account_id].append(calendar_id)
    return found


def calendars_of_account(session: Session, account_id: str) -> list[tuple[Calendar, Profile]]:
    """The account's non-deleted calendars with their profiles, in a stable order."""
    rows = session.execute(
        select(Calendar, Profile)
        .join(Profile, col(Profile.id) == col(Calendar.profile_id))
        .where(col(Profile.account_id) == account_id, col(Calendar.deleted).is_(False))
        .order_by(col(Profile.created_at), col(Profile.id), col(Calendar.name), col(Calendar.id))
    )
    return [(calendar, profile) for calendar, profile in rows]


def count_spans(
    session: Session,
    calendar_ids: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    include_managed: bool = True,
) -> int:
    """How many spans of these calendars overlap ``[start, end)`` (for ``pages.total``)."""
    if not calendar_ids:
        return 0
    query = (
        select(func.count()).select_from(Occurrence).where(spans_in_range(calendar_ids, start, end))
    )
    return int(session.execute(_without_managed(query, include_managed)).scalar() or 0)


def _without_managed(query: Select[Any], include_managed: bool) -> Select[Any]:
    """``query`` over occurrences, less those of events written through the API unless
    ``include_managed``."""
    if include_managed:
        return query
    return query.join(Event, col(Event.id) == col(Occurrence.event_id)).where(
        col(Event.managed_event_id).is_(None)
    )


#: A span's place in the free/busy order: start, end, calendar id, occurrence id.
SpanKey = tuple[dt.datetime, dt.datetime, str, int]

_SPAN_ORDER = (
    col(Occurrence.start_utc),
    col(Occurrence.end_utc),
    col(Occurrence.calendar_id),
    col(Occurrence.id),
)


def page_of_spans(
    session: Session,
    calendar_ids: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    after: SpanKey | None,
    limit: int,
    include_managed: bool = True,
) -> tuple[list[BusySpan], SpanKey | None]:
    """Up to ``limit`` spans overlapping ``[start, end)`` after the span ``after`` (keyset,
    in a total order: pages never repeat or skip a span, even while spans are added or
    removed), and the key to read the next page from (``None`` on the last page)."""
    if not calendar_ids:
        return [], None
    query = select_spans(calendar_ids, start, end).add_columns(col(Occurrence.id))
    query = _without_managed(query, include_managed)
    if after is not None:
        query = query.where(after_key(_SPAN_ORDER, after))
    rows = list(session.execute(query.order_by(*_SPAN_ORDER).limit(limit + 1)))
    spans = [BusySpan(*row[:-1]) for row in rows[:limit]]
    if len(rows) <= limit:
        return spans, None
    last, last_id = spans[-1], rows[limit - 1][-1]
    return spans, (last.start, last.end, last.calendar_id, int(last_id))


def calendars_and_event_count(session: Session, profile_id: str) -> tuple[list[Calendar], int]:
    """A profile's calendars and how many provider items are stored for them."""
    calendars = list(
        session.execute(select(Calendar).where(col(Calendar.profile_id) == profile_id)).scalars()
    )
    events = session.execute(
        select(func.count())
        .select_from(Event)
        .where(col(Event.calendar_id).in_([c.id for c in calendars]))
    ).scalar_one()
    return calendars, int(events)
