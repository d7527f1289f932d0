"""Booking a slot of a scheduling link: offered live, claimed once, written everywhere.

- :func:`offered_slots` computes the slots from the store now (busy time, the holds of
  earlier bookings, buffers, ``minimum_notice``, ``start_interval``, managed
  availability). It fails closed: when a member the query needs has a ``sync_status``
  other than ``active`` no slot is offered and the reason says who and why (the data
  could be stale, and a stale calendar could double-book).
- :func:`book` runs in one transaction: the link and every member's account are locked,
  the slot is computed again, and only if it is still offered is it claimed (a booking
  with holds), the event queued in every target calendar through the managed-event
  pipeline, and the signed callback queued in the outbox. Two invitees choosing the
  same time get one booking and one :class:`SlotTaken`.
- The booking's reschedule and cancel tokens work once each, also after the link is
  completed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from syncd.availability import AvailableTime
from syncd.conferencing.plan import check_requested_conferencing
from syncd.cronofy.availability import AvailabilityRequest, ParticipantGroupQuery
from syncd.cronofy.scheduling import MAX_OPAQUE_LENGTH, UTM_KEYS
from syncd.cronofy.times import format_utc
from syncd.errors import ConflictError, FieldErrors, NotFoundError
from syncd.notify.outbox import enqueue
from syncd.scheduling.availability import Asker, answer_availability, member_statuses
from syncd.scheduling.links import COMPLETED, OPEN
from syncd.statuses import SyncStatus
from syncd.store.crypto import SecretBox
from syncd.store.managed import calendar_of_account, request_delete, upsert_managed_event
from syncd.store.models import Account, Booking, SchedulingLink
from syncd.store.scheduling import (
    add_booking,
    booking_by_token,
    end_booking,
    link_by_token,
    link_token,
    lock_accounts,
    set_booking_events,
    set_link_status,
)

SLOT_TAKEN_MESSAGE = "That time was just taken. Please choose another."


class SlotTaken(ConflictError):
    """The chosen slot is no longer offered (someone else booked it, or it became busy)."""

    code = "slot_taken"


class LinkClosed(ConflictError):
    """The link is completed or disabled."""

    code = "link_closed"


@dataclass
class Offer:
    """The slots a link offers now, or why it offers none."""

    slots: list[AvailableTime]
    blocked_reason: str | None = None
    closed_message: str | None = None


@dataclass(frozen=True)
class Invitee:
    name: str = ""
    email: str = ""
    tzid: str = "Etc/UTC"


@dataclass
class Booked:
    booking: Booking
    reschedule_token: str
    cancel_token: str
    redirect_url: str | None = None
    events: list[list[str]] = field(default_factory=list)


def link_for_token(session: Session, token: str, for_update: bool = False) -> SchedulingLink:
    link = link_by_token(session, token, for_update=for_update)
    if link is None:
        raise NotFoundError("no such scheduling link")
    return link


def offered_slots(
    session: Session, link: SchedulingLink, now: dt.datetime, staleness_bound: float
) -> Offer:
    """What the booking page lists, computed from the store at ``now``."""
    if link.status != OPEN:
        message = link.display_message or "This scheduling link is no longer available."
        return Offer([], closed_message=message)
    query = AvailabilityRequest.model_validate(link.request["availability"])
    groups, reason = _trusted_groups(session, query.participants, now, staleness_bound)
    if reason is not None:
        return Offer([], blocked_reason=reason)
    notice = link.request.get("minimum_notice") or {}
    not_before = now + dt.timedelta(
        hours=notice.get("hours") or 0, minutes=notice.get("minutes") or 0
    )
    fmt = "slots" if query.response_format == "slots" else "overlapping_slots"
    query = query.model_copy(update={"participants": groups, "response_format": fmt})
    answer = answer_availability(
        session, Asker(link.application_id), query, now, staleness_bound, not_before=not_before
    )
    return Offer(answer.found)


def _trusted_groups(
    session: Session,
    groups: list[ParticipantGroupQuery],
    now: dt.datetime,
    staleness_bound: float,
) -> tuple[list[ParticipantGroupQuery], str | None]:
    """The groups without members whose data cannot be trusted, or why none can go ahead.

    A member of an ``all`` group who is not ``active`` stops the link; in an N-of-M group
    such members are left out, and the link stops only if fewer than N remain."""
    subs = list(dict.fromkeys(m.sub for group in groups for m in group.members))
    statuses = dict(member_statuses(session, subs, now, staleness_bound))
    names = _names(session, subs)
    kept: list[ParticipantGroupQuery] = []
    for group in groups:
        trusted = [m for m in group.members if statuses.get(m.sub) == SyncStatus.ACTIVE]
        untrusted = [m for m in group.members if m not in trusted]
        need = len(group.members) if group.required == "all" else int(group.required)
        if len(trusted) < need:
            who = ", ".join(f"{names.get(m.sub, m.sub)} ({statuses.get(m.sub)})" for m in untrusted)
            return [], (
                "No times can be offered: the calendar of "
                f"{who} is not in sync, so its free time cannot be trusted."
            )
        required: Any = "all" if group.required == "all" else group.required
        kept.append(group.model_copy(update={"members": trusted, "required": required}))
    return kept, None


def _names(session: Session, subs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for sub in subs:
        account = session.get(Account, sub)
        if account is not None:
            found[sub] = account.name or account.email
    return found


def book(
    session: Session,
    token: str,
    start: dt.datetime,
    invitee: Invitee,
    prefill: dict[str, str],
    now: dt.datetime,
    staleness_bound: float,
    replacing: Booking | None = None,
) -> Booked:
    """Claim ``start`` for ``invitee`` (see the module docstring); ``replacing`` is the
    booking a reschedule moves (its link may be completed)."""
    link = link_for_token(session, token, for_update=True)
    defaults = {"correlation_id": link.request.get("correlation_id")}
    defaults.update(link.request.get("utm") or {})
    merged = {key: value for key, value in defaults.items() if value}
    merged.update(prefill)
    clean_prefill = check_prefill(merged)
    preset = link.request.get("invitee") or {}
    invitee = Invitee(
        invitee.name or preset.get("name") or "",
        invitee.email or preset.get("email") or "",
        invitee.tzid,
    )
    if link.status != OPEN and not (replacing is not None and link.status == COMPLETED):
        raise LinkClosed(link.display_message or "this scheduling link is closed")
    request = link.request
    subs = [m["sub"] for g in request["availability"]["participants"] for m in g["members"]]
    subs += [target["sub"] for target in request["target_calendars"]]
    lock_accounts(session, subs)
    if replacing is not None:
        _release(session, replacing, "rescheduled")
    offer = offered_slots(
        session,
        open_view(link),
        now,
        staleness_bound,
    )
    if offer.blocked_reason:
        raise ConflictError(offer.blocked_reason, code="members_not_in_sync")
    slot = next((s for s in offer.slots if s.start == start.astimezone(dt.UTC)), None)
    if slot is None:
        raise SlotTaken(SLOT_TAKEN_MESSAGE)
    booking, reschedule_token, cancel_token = add_booking(
        session,
        link,
        slot.start,
        slot.end,
        [*slot.participants, *(t["sub"] for t in request["target_calendars"])],
        {"name": invitee.name, "email": invitee.email, "tzid": invitee.tzid},
        clean_prefill,
    )
    events = _write_events(session, link, booking, slot)
    set_booking_events(session, booking, events)
    _notify(session, link, booking, slot)
    if link.single_use:
        set_link_status(session, link, COMPLETED)
    redirect = (request.get("redirect_urls") or {}).get("completed_url") or request["oauth"][
        "redirect_uri"
    ]
    return Booked(booking, reschedule_token, cancel_token, redirect, events)


def open_view(link: SchedulingLink) -> SchedulingLink:
    """The link as :func:`offered_slots` should see it while a reschedule books on it
    (a completed link still offers its slots to the booking that completed it)."""
    if link.status != COMPLETED:
        return link
    view = SchedulingLink.model_validate(link.model_dump())
    view.status = OPEN
    return view


def check_prefill(prefill: dict[str, str]) -> dict[str, str]:
    """``correlation_id`` and ``utm_*`` only, each at most 128 characters (422 otherwise)."""
    problems = FieldErrors()
    clean: dict[str, str] = {}
    for key, value in prefill.items():
        if key != "correlation_id" and key not in UTM_KEYS:
            problems.add(key, "errors.invalid", "not a prefill field")
        elif not isinstance(value, str) or len(value) > MAX_OPAQUE_LENGTH:
            problems.add(key, "errors.too_long", f"at most {MAX_OPAQUE_LENGTH} characters")
        else:
            clean[key] = value
    problems.raise_if_any()
    return clean


def _write_events(
    session: Session, link: SchedulingLink, booking: Booking, slot: AvailableTime
) -> list[list[str]]:
    """Queue the event in every target calendar (only the first with ``single``)."""
    request = link.request
    event = request["event"]
    targets = [t for t in request["target_calendars"] if t.get("event", True)]
    if request.get("event_creation") == "single":
        targets = targets[:1]
    attendees = []
    if booking.invitee_email:
        attendees.append({"email": booking.invitee_email, "display_name": booking.invitee_name})
    for target in request["target_calendars"]:
        if target.get("attendee"):
            account = session.get(Account, target["sub"])
            if account is not None and account.email:
                attendees.append({"email": account.email, "display_name": account.name})
    base_id = event.get("event_id") if link.single_use else None
    event_id = base_id or f"{link.id}-{booking.id}"
    written: list[list[str]] = []
    for target in targets:
        account = session.get(Account, target["sub"])
        calendar = calendar_of_account(session, target["sub"], target["calendar_id"])
        if account is None or calendar is None:
            raise ConflictError("a target calendar is no longer available", code="target_gone")
        problems = FieldErrors()
        conferencing = None
        if event.get("conferencing"):
            wanted = event["conferencing"]
            conferencing = check_requested_conferencing(
                session,
                account,
                calendar,
                wanted["profile_id"],
                wanted.get("provider_description"),
                wanted.get("join_url"),
                problems,
            )
        problems.raise_if_any()
        managed_request = {
            "summary": event["summary"],
            "description": event.get("description") or "",
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "all_day": False,
            "tzid": event.get("tzid") or request.get("tzid") or "Etc/UTC",
            "location": (event.get("location") or {}).get("description", ""),
            "transparency": event.get("transparency") or "opaque",
            "conferencing": conferencing,
            "subscriptions": [],
            "attendees": attendees,
            "scheduling": {
                "real_time_scheduling_id": link.id,
                "booking_id": booking.id,
                **booking.prefill,
            },
        }
        upsert_managed_event(
            session, link.application_id, account.id, calendar.id, event_id, managed_request
        )
        written.append([account.id, calendar.id, event_id])
    return written


def _notify(session: Session, link: SchedulingLink, booking: Booking, slot: AvailableTime) -> None:
    """The signed callback (through the outbox: never lost, sent at least once)."""
    request = link.request
    url = (request.get("callback_urls") or {}).get("completed_url") or request.get("callback_url")
    if not url:
        return
    event = request["event"]
    zone = event.get("tzid") or request.get("tzid") or "Etc/UTC"
    payload = {
        "notification": {"type": "slot_selected"},
        "real_time_scheduling": {"real_time_scheduling_id": link.id},
        "event": {
            "event_id": event.get("event_id") or f"{link.id}-{booking.id}",
            "summary": event["summary"],
            "start": {"time": format_utc(slot.start), "tzid": zone},
            "end": {"time": format_utc(slot.end), "tzid": zone},
        },
        "participants": [{"sub": sub} for sub in slot.participants],
        "invitee": {
            "name": booking.invitee_name,
            "email": booking.invitee_email,
            "tzid": booking.invitee_tzid,
        },
        "tzid": booking.invitee_tzid,
        "booking_id": booking.id,
        **booking.prefill,
    }
    enqueue(session, link.application_id, "slot_selected", url, payload)


def notify_page_event(session: Session, link: SchedulingLink, kind: str) -> bool:
    """``no_times_displayed`` / ``no_times_suitable``: queue the callback the link asked
    for (False when it asked for none)."""
    url = (link.request.get("callback_urls") or {}).get(f"{kind}_url")
    if not url:
        return False
    payload = {
        "notification": {"type": kind},
        "real_time_scheduling": {"real_time_scheduling_id": link.id},
    }
    enqueue(session, link.application_id, kind, url, payload)
    return True


def cancel(session: Session, cancel_token: str) -> Booking:
    """Cancel the booking of this one-time token: events deleted, time released."""
    booking = booking_by_token(session, cancel_token, "cancel")
    if booking is None or booking.status != "booked":
        raise NotFoundError("this cancel link has already been used or does not exist")
    _release(session, booking, "cancelled")
    return booking


def reschedule(
    session: Session,
    box: SecretBox,
    reschedule_token: str,
    start: dt.datetime,
    now: dt.datetime,
    staleness_bound: float,
) -> Booked:
    """Move the booking of this one-time token to ``start`` on the same link."""
    booking = booking_by_token(session, reschedule_token, "reschedule")
    if booking is None or booking.status != "booked":
        raise NotFoundError("this reschedule link has already been used or does not exist")
    link = session.get(SchedulingLink, booking.link_id)
    assert link is not None
    invitee = Invitee(booking.invitee_name, booking.invitee_email, booking.invitee_tzid)
    return book(
        session,
        link_token(box, link),
        start,
        invitee,
        dict(booking.prefill),
        now,
        staleness_bound,
        replacing=booking,
    )


def _release(session: Session, booking: Booking, status: str) -> None:
    for _account_id, calendar_id, event_id in booking.events:
        request_delete(session, calendar_id, event_id)
    end_booking(session, booking, status)
