"""Upserts by ``event_uid``: changing an event the application did not create.

Only what the request names is written (``update_event_fields`` on the adapter): its
summary and times always, and description, location, coordinates, transparency,
reminders, URL, colour and privacy when given; everything else stays as the event's
owner made it. Attendees, recurrence, conferencing and subscriptions belong to the
event's organizer or to managed events and are refused (422) rather than dropped; so is
any ``event_uid`` upsert where the calendar's adapter does not declare
``update_external``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from syncd.conferencing.event_fields import calendar_write_support
from syncd.cronofy.events import parse_occurrence_uid
from syncd.errors import FieldErrors, invalid
from syncd.store.managed_requests import EXTERNAL_UPDATE_PREFIX, request_external_update
from syncd.store.models import Account, Calendar, Event

__all__ = ["ExternalEvent", "external_event", "queue_external_update"]

#: Always written: the request requires them.
ALWAYS = ("summary", "start", "end")
#: Request field -> the ``RemoteEvent`` field it writes, when the request gives it.
OPTIONAL = {
    "description": "description",
    "location": "location",
    "transparency": "transparency",
    "reminders": "reminders",
    "url": "url",
    "color": "color",
    "event_private": "private",
}
REFUSED = ("attendees", "recurrence", "conferencing", "subscriptions")


@dataclass(frozen=True)
class ExternalEvent:
    event: Event
    #: The ``ManagedEvent.event_id`` of its update job.
    row_key: str


def external_event(session: Session, calendar: Calendar, event_uid: str) -> ExternalEvent:
    """The synced event ``event_uid`` of ``calendar``, if this upsert may change it."""
    parsed = parse_occurrence_uid(event_uid)
    event = session.get(Event, parsed[0]) if parsed is not None else None
    if parsed is None or event is None or event.calendar_id != calendar.id:
        raise invalid("event_uid", "errors.not_found", "no such event in this calendar")
    if parsed[1] is not None:
        raise invalid(
            "event_uid",
            "errors.not_supported",
            f"one occurrence cannot be changed; evt_external_{event.id} names the series",
        )
    if event.managed_event_id:
        raise invalid(
            "event_uid", "errors.invalid", "this event was created through the API: use event_id"
        )
    if not calendar_write_support(session, calendar).update_external:
        raise invalid(
            "event_uid",
            "errors.not_supported",
            "this calendar's provider cannot update events created elsewhere",
        )
    return ExternalEvent(event, EXTERNAL_UPDATE_PREFIX + event.provider_event_id)


def queue_external_update(
    session: Session,
    account: Account,
    external: ExternalEvent,
    request: dict[str, Any],
    given: set[str],
) -> None:
    """Queue the update of the fields ``given`` (the request's keys that were sent)."""
    problems = FieldErrors()
    for name in REFUSED:
        if name in given:
            problems.add(
                name, "errors.not_supported", f"{name} cannot be set on an event by event_uid"
            )
    problems.raise_if_any()
    fields = [*ALWAYS, *(field for key, field in OPTIONAL.items() if key in given)]
    if "location" in given and request.get("geo") is not None:
        fields.append("geo")
    stored = request | {"fields": sorted(fields)}
    request_external_update(session, account.application_id, account.id, external.event, stored)
