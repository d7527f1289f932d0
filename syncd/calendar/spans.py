"""One concrete occurrence (``OccurrenceSpan``) and how an item's times become one.

The pieces every expansion path shares: an item's free/busy state, its times placed in
UTC (all-day dates and floating times in the account's or the item's zone), the texts
Cronofy shows, and the fast path of a single (non-recurring) item. Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple, TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from providers.base import RemoteEvent
from syncd.calendar.bounds import InvalidSeries, Window
from syncd.calendar.utc_text import utc_iso

_UTC = dt.UTC


class OccurrenceSpan(NamedTuple):
    """One concrete occurrence, ready to be stored for range reads.

    A named tuple, not a dataclass: a full sync makes one per stored occurrence, and a
    frozen dataclass's ``__init__`` costs several times a tuple's (1.1 against 0.3 µs
    for seven fields).
    """

    start_utc: dt.datetime
    end_utc: dt.datetime
    all_day: bool
    #: "2026-03-29" for all-day spans, else "2026-03-29T09:00:00Z" (Cronofy's format).
    start_text: str
    end_text: str
    #: "busy" | "tentative" | "free"
    free_busy_status: str
    #: provider_event_id of the item this span came from (master or override).
    source_event_id: str


class InstanceState(NamedTuple):
    """What one item (master or override) says about the instances it produces."""

    source_event_id: str
    cancelled: bool
    free_busy_status: str


def free_busy_status(event: RemoteEvent) -> str:
    """How ``event`` counts for free/busy: "free", "tentative" or "busy".

    Cronofy reports tentative events as "tentative" in free/busy and treats them as busy
    for availability, so "tentative" is kept apart from "busy" here.
    """
    return free_busy(event.status, event.transparency, event.participation_status)


def free_busy(status: str, transparency: str, participation_status: str) -> str:
    if status == "cancelled" or transparency == "transparent":
        return "free"
    if participation_status == "declined":
        return "free"
    if status == "tentative" or participation_status == "tentative":
        return "tentative"
    return "busy"


def state_of(event: RemoteEvent) -> InstanceState:
    return InstanceState(
        source_event_id=event.provider_event_id,
        cancelled=event.status == "cancelled",
        free_busy_status=free_busy_status(event),
    )


# ---------------------------------------------------------------------------
# Window and span construction
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The IANA zone of that name, or None; cached: every event of a calendar asks."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def to_utc(value: dt.date | dt.datetime, naive_zone: dt.tzinfo) -> dt.datetime:
    """Dates become local midnight and naive datetimes local time in ``naive_zone``."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=naive_zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=naive_zone)
    return value.astimezone(_UTC)


def span_text(value: dt.date | dt.datetime, as_utc: dt.datetime) -> str:
    if is_date(value):
        return value.isoformat()
    # "YYYY-MM-DDTHH:MM:SS" is always the first 19 characters (years are 4 digits).
    return as_utc.isoformat()[:19] + "Z"


def make_span(
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    state: InstanceState,
    floating_zone: dt.tzinfo,
    account_zone: dt.tzinfo,
) -> OccurrenceSpan:
    """A span from local values: all-day dates are days in the account's zone."""
    if _aware(start) and _aware(end):  # most: no zone to place them in, no dates
        start_utc, end_utc = _utc_bounds(start, end, state.source_event_id)
        return _timed_span(start_utc, end_utc, state.free_busy_status, state.source_event_id)
    all_day = is_date(start)
    if all_day and isinstance(end, dt.datetime):
        end = end.date()
    naive_zone = account_zone if all_day else floating_zone
    start_utc = to_utc(start, naive_zone)
    end_utc = to_utc(end, naive_zone)
    if end_utc < start_utc:
        raise InvalidSeries(f"{state.source_event_id}: ends ({end}) before it starts ({start})")
    return OccurrenceSpan(
        start_utc=start_utc,
        end_utc=end_utc,
        all_day=all_day,
        start_text=span_text(start, start_utc),
        end_text=span_text(end, end_utc),
        free_busy_status=state.free_busy_status,
        source_event_id=state.source_event_id,
    )


def all_day_value(value: dt.date | dt.datetime, all_day: bool) -> dt.date | dt.datetime:
    """Providers flag all-day events; honour the flag even if a datetime slipped in."""
    if all_day and isinstance(value, dt.datetime):
        return value.date()
    return value


def single_span(event: RemoteEvent, account_zone: dt.tzinfo) -> OccurrenceSpan:
    """The fast path: a non-recurring item never goes through the RRULE engine."""
    floating_zone = zone_or_none(event.tzid) or account_zone
    return make_span(
        all_day_value(event.start, event.all_day),
        all_day_value(event.end, event.all_day),
        state_of(event),
        floating_zone,
        account_zone,
    )


def single_span_in(
    event: RemoteEvent, account_zone: dt.tzinfo, window: Window
) -> list[OccurrenceSpan]:
    """A non-recurring item's span, if it overlaps ``window`` (else none).

    Most items are timed with an offset or zone (every Google and Graph item that is not
    all-day): those need neither zone lookups nor the date cases of ``make_span``, and
    their texts are only written for a span that is kept (a full sync's history and
    far future lie outside the window).
    """
    start, end = event.start, event.end
    if event.all_day or not (_aware(start) and _aware(end)):
        span = single_span(event, account_zone)
        return [span] if window.overlaps(span) else []
    start_utc, end_utc = _utc_bounds(start, end, event.provider_event_id)
    if not window.overlaps_times(start_utc, end_utc):
        return []
    status = free_busy(event.status, event.transparency, event.participation_status)
    return [_timed_span(start_utc, end_utc, status, event.provider_event_id)]


def _aware(value: object) -> TypeGuard[dt.datetime]:
    """An aware datetime (not a date, not floating): placed in UTC as it is."""
    return type(value) is dt.datetime and value.tzinfo is not None


def _utc_bounds(
    start: dt.datetime, end: dt.datetime, item_id: str
) -> tuple[dt.datetime, dt.datetime]:
    start_utc, end_utc = start.astimezone(_UTC), end.astimezone(_UTC)
    if end_utc < start_utc:
        raise InvalidSeries(f"{item_id}: ends ({end}) before it starts ({start})")
    return start_utc, end_utc


def _timed_span(
    start_utc: dt.datetime, end_utc: dt.datetime, free_busy_status: str, source_event_id: str
) -> OccurrenceSpan:
    """A timed span from its UTC bounds, with the texts Cronofy shows."""
    return OccurrenceSpan(
        start_utc,
        end_utc,
        False,
        utc_iso(start_utc)[:19] + "Z",
        utc_iso(end_utc)[:19] + "Z",
        free_busy_status,
        source_event_id,
    )
