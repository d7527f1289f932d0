"""The account's reply to an invitation (``participation_status``), as the API queues it.

Allowed where the event lists the account as an attendee who may reply (``can_reply``,
which ``GET /v1/events`` shows as ``options.change_participation_status``) and the
calendar's adapter declares ``participation_status``; otherwise a 422 naming the field,
never a job that would fail later. The daemon writes it (``syncd.conferencing.jobs``).
"""

from __future__ import annotations

from sqlmodel import Session

from syncd.conferencing.event_fields import calendar_write_support
from syncd.cronofy.events import parse_event_uid
from syncd.errors import NotFoundError, UserError, invalid
from syncd.store import managed as store
from syncd.store.managed_requests import request_reply
from syncd.store.models import Account, Event

__all__ = ["queue_reply"]


def queue_reply(
    session: Session, account: Account, calendar_id: str, event_uid: str, status: str
) -> None:
    calendar = store.calendar_of_account(session, account.id, calendar_id)
    if calendar is None:
        raise NotFoundError("no such calendar for this account")
    if calendar.readonly:
        raise UserError(
            f"calendar {calendar_id} is read-only", code="calendar_readonly", http_status=403
        )
    row_id = parse_event_uid(event_uid)
    event = session.get(Event, row_id) if row_id is not None else None
    if event is None or event.calendar_id != calendar.id:
        raise invalid("event_uid", "errors.not_found", "no such event in this calendar")
    if not calendar_write_support(session, calendar).participation_status:
        raise invalid(
            "status", "errors.not_supported", "this calendar's provider cannot send replies"
        )
    if not event.can_reply:
        raise invalid(
            "event_uid",
            "errors.not_supported",
            "the account is not an attendee who can reply to this event",
        )
    request_reply(session, account.application_id, account.id, event, status)
