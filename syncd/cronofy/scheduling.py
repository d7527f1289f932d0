"""Cronofy's Real-Time Scheduling request (``POST /v1/real_time_scheduling``), as models.

Every field Cronofy documents for the request is either honoured by
``syncd.scheduling`` or refused with a 422 there; unknown keys are ignored like
everywhere else in the API.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from syncd.cronofy.availability import AvailabilityRequest, Lenient

#: Opaque values carried by a link (correlation id, utm_*) are at most this long.
MAX_OPAQUE_LENGTH = 128
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_DISPLAY_MESSAGE = 500


class OAuthIn(Lenient):
    redirect_uri: str = Field(min_length=1, max_length=2048)
    scope: str | None = Field(default=None, max_length=1024)
    state: str | None = Field(default=None, max_length=1024)


class EventConferencingIn(Lenient):
    profile_id: str = Field(min_length=1, max_length=100)
    provider_description: str | None = Field(default=None, max_length=200)
    join_url: str | None = Field(default=None, max_length=2048)


class EventLocationIn(Lenient):
    description: str = Field(default="", max_length=1024)


class EventIn(Lenient):
    """The event created when a slot is chosen (times come from the slot)."""

    event_id: str | None = Field(default=None, min_length=1, max_length=150)
    summary: str = Field(min_length=1, max_length=1024)
    description: str = Field(default="", max_length=8192)
    tzid: str | None = Field(default=None, max_length=64)
    location: EventLocationIn | None = None
    conferencing: EventConferencingIn | None = None
    transparency: Literal["opaque", "transparent"] = "opaque"


class TargetCalendarIn(Lenient):
    sub: str = Field(min_length=1, max_length=200)
    calendar_id: str = Field(min_length=1, max_length=200)
    #: Whether the event is created in this calendar (default yes).
    event: bool = True
    #: Whether this member is added to the event as an attendee (default no).
    attendee: bool = False


class Minutes(Lenient):
    minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 60)
    hours: int | None = Field(default=None, ge=0, le=24 * 60)

    def total_minutes(self) -> int:
        return (self.hours or 0) * 60 + (self.minutes or 0)


class CallbackUrlsIn(Lenient):
    completed_url: str | None = Field(default=None, max_length=2048)
    no_times_suitable_url: str | None = Field(default=None, max_length=2048)
    no_times_displayed_url: str | None = Field(default=None, max_length=2048)


class RedirectUrlsIn(Lenient):
    completed_url: str | None = Field(default=None, max_length=2048)


class InviteeIn(Lenient):
    """Prefill for the booking page (syncd's extension; Cronofy passes it in the URL)."""

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class RealTimeSchedulingRequest(Lenient):
    """POST /v1/real_time_scheduling. ``client_id``/``client_secret`` may authenticate in
    the body (cronofy-ruby), instead of the Bearer header."""

    client_id: str | None = Field(default=None, max_length=200)
    client_secret: str | None = Field(default=None, max_length=200)
    oauth: OAuthIn
    event: EventIn
    availability: AvailabilityRequest
    target_calendars: list[TargetCalendarIn] = Field(min_length=1, max_length=20)
    minimum_notice: Minutes | None = None
    callback_url: str | None = Field(default=None, max_length=2048)
    callback_urls: CallbackUrlsIn | None = None
    redirect_urls: RedirectUrlsIn | None = None
    event_creation: Literal["default", "single"] | None = None
    tzid: str | None = Field(default=None, max_length=64)
    correlation_id: str | None = Field(default=None, max_length=MAX_OPAQUE_LENGTH)
    utm: dict[str, str] | None = None
    invitee: InviteeIn | None = None
    #: syncd's extension: ``False`` keeps the link open after a booking.
    single_use: bool = True


class DisableRequest(Lenient):
    display_message: str = Field(min_length=1, max_length=MAX_DISPLAY_MESSAGE)


def as_stored(body: RealTimeSchedulingRequest) -> dict[str, Any]:
    """The request as a link keeps it: without credentials."""
    return body.model_dump(mode="json", exclude={"client_id", "client_secret"})
