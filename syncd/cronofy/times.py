"""Reading and writing times on the wire: UTC ``Z`` strings, dates, and IANA zones.

Every time the API accepts must lie in ``[EARLIEST, LATEST)``: far enough for any
calendar, and small enough that buffer and zone arithmetic can never overflow.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from syncd.errors import FieldErrors, invalid

#: The window ``/v1/events`` and ``/v1/free_busy`` read without ``from``/``to``, as
#: Cronofy's: this many days before and after today (in ``tzid``).
DEFAULT_PAST_DAYS = 42
DEFAULT_FUTURE_DAYS = 201

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _in_range_utc(value: dt.datetime) -> dt.datetime:
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise PydanticCustomError(
            "errors.out_of_range",
            "times must be between 1970-01-01T00:00:00Z and 2200-01-01T00:00:00Z",
        )
    return utc


#: A request time: ISO 8601 with an offset (``Z`` or ``±hh:mm``), converted to UTC.
UtcTime = Annotated[AwareDatetime, AfterValidator(_in_range_utc)]


def default_window(now: dt.datetime, zone: ZoneInfo) -> dict[str, str]:
    """``from``/``to`` when a read leaves them out: the dates DEFAULT_PAST_DAYS before and
    DEFAULT_FUTURE_DAYS after today in ``zone``."""
    today = now.astimezone(zone).date()
    return {
        "from": (today - dt.timedelta(days=DEFAULT_PAST_DAYS)).isoformat(),
        "to": (today + dt.timedelta(days=DEFAULT_FUTURE_DAYS)).isoformat(),
    }


def format_utc(moment: dt.datetime) -> str:
    """``2025-01-21T09:00:00Z`` (Cronofy's format); fractions only when there are some."""
    utc = moment.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def format_seconds(moment: dt.datetime) -> str:
    """``2025-01-21T09:00:00Z``, any fraction dropped: Cronofy's ``created``/``updated``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_local(moment: dt.datetime, zone: ZoneInfo) -> str:
    """``2025-01-21T10:00:00+01:00``: the same instant as seen in ``zone``."""
    return moment.astimezone(zone).isoformat()


def parse_zone(name: str, field: str = "tzid") -> ZoneInfo:
    """An IANA zone, or a 422 with Cronofy's ``errors.tzid_unrecognized``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise invalid(field, "errors.tzid_unrecognized", f"unknown time zone {name!r}") from None


def parse_bound(text: str, zone: ZoneInfo, field: str) -> dt.datetime:
    """A ``from``/``to`` query value: a date (midnight in ``zone``) or a time with an offset.

    A time without an offset is read in ``zone`` too, as Cronofy does with ``tzid``.
    """
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), zone)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
        utc = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise invalid(
            field, "errors.invalid", f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 time"
        ) from None
    if not EARLIEST <= utc < LATEST:
        raise invalid(
            field, "errors.out_of_range", f"{field} must be between 1970-01-01 and 2200-01-01"
        )
    return utc


def zone_or_error(name: str, field: str, problems: FieldErrors) -> ZoneInfo | None:
    """``parse_zone``, collecting the 422 in ``problems`` (None) instead of raising it."""
    try:
        return parse_zone(name, field)
    except FieldErrors as error:
        problems.errors.update(error.errors)
        return None


def parse_event_time(
    value: str | dict[str, Any], zone: ZoneInfo | None, field: str, problems: FieldErrors
) -> dt.datetime | dt.date | None:
    """An event's ``start``/``end``: a date (all-day), a time (read in ``zone`` without an
    offset) or ``{"time": …, "tzid": …}``; None with the reason added to ``problems``."""
    if isinstance(value, dict):
        text = value.get("time")
        tzid = value.get("tzid")
        if not isinstance(text, str):
            problems.add(f"{field}.time", "errors.required", "time is required")
            return None
        if isinstance(tzid, str):
            zone = zone_or_error(tzid, f"{field}.tzid", problems)
    else:
        text = value
    if zone is None:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if not EARLIEST.date() <= day < LATEST.date():
                problems.add(field, "errors.out_of_range", _out_of_range(field))
                return None
            return day
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        problems.add(field, "errors.invalid", f"{field} must be a date or an ISO 8601 time")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        problems.add(field, "errors.out_of_range", _out_of_range(field))
        return None
    return moment.astimezone(zone)


def _out_of_range(field: str) -> str:
    return (
        f"{field} must be between {EARLIEST.date().isoformat()} and "
        f"{LATEST.date().isoformat()} (exclusive)"
    )
