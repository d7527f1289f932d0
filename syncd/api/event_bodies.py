"""The parts of an event upsert body beyond times and conferencing (pydantic shapes).

Only the shape is checked here (a malformed field is a 422 naming it, never a 500);
whether the calendar's provider can store a field, and how it merges with earlier
upserts, is ``syncd.conferencing.event_fields``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_ATTENDEES",
    "MAX_REMINDERS",
    "AttendeesIn",
    "EventUrl",
    "Latitude",
    "Longitude",
    "RecurrenceIn",
    "ReminderIn",
]

#: Invitees (or removals) one request may name; reminders one event may list.
MAX_ATTENDEES = 100
MAX_REMINDERS = 10
#: Reminder lead times, minutes: up to four weeks (Google's bound, the tightest).
MAX_REMINDER_MINUTES = 40320
#: Rule bounds: every provider takes these.
MAX_INTERVAL = 99
MAX_COUNT = 730


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise PydanticCustomError("errors.invalid", "not an e-mail address")
    return value


def _degrees(bound: float) -> AfterValidator:
    def check(value: float) -> float:
        if not -bound <= value <= bound:
            message = f"must be between -{bound} and {bound}"
            raise PydanticCustomError("errors.out_of_range", message)
        return value

    return AfterValidator(check)


def _number(value: object) -> object:
    """Cronofy sends coordinates as strings ("51.5074"); numbers are accepted too."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise PydanticCustomError("errors.invalid", "not a number") from None
    return value


def _http_url(value: str) -> str:
    scheme, _, rest = value.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or any(c.isspace() for c in value):
        raise PydanticCustomError("errors.invalid", "url must be an absolute http(s) URL")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Latitude = Annotated[float, BeforeValidator(_number), _degrees(90.0)]
Longitude = Annotated[float, BeforeValidator(_number), _degrees(180.0)]
EventUrl = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class _Strict(BaseModel):
    """Fields Cronofy defines, and nothing else: an unknown key is a 422, not dropped."""

    model_config = ConfigDict(extra="forbid")


class PersonIn(_Strict):
    email: Email
    display_name: str | None = Field(default=None, max_length=200)


class AttendeesIn(_Strict):
    """``invite`` adds people to the event, ``remove`` takes them off (by e-mail)."""

    invite: list[PersonIn] | None = Field(default=None, max_length=MAX_ATTENDEES)
    remove: list[PersonIn] | None = Field(default=None, max_length=MAX_ATTENDEES)


class ReminderIn(_Strict):
    minutes: int = Field(ge=0, le=MAX_REMINDER_MINUTES)


class RecurrenceRuleIn(_Strict):
    """One rule: ``frequency``, optional ``interval``, ``by_day`` (weekly only) and one
    of ``count`` or ``until`` (a date or a time)."""

    frequency: Literal["daily", "weekly", "monthly", "yearly"]
    interval: int | None = Field(default=None, ge=1, le=MAX_INTERVAL)
    count: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    until: str | None = Field(default=None, max_length=40)
    by_day: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)


class RecurrenceIn(_Strict):
    """``rules: []`` removes the recurrence of an event written as a series."""

    rules: list[RecurrenceRuleIn] = Field(max_length=10)
