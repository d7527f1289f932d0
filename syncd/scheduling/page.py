"""What the hosted booking page shows: slots grouped by day in the invitee's zone, the
confirmation, and the booking as an iCalendar file.

The page (``syncd.web.pages.booking``) calls one function here per request; times are
always given with the zone they are shown in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from sqlmodel import Session

from syncd.availability import zone_for
from syncd.errors import NotFoundError
from syncd.notify.outbox import enqueue_once
from syncd.scheduling.booking import link_for_token, offered_slots, open_view
from syncd.store.crypto import SecretBox
from syncd.store.models import Booking, SchedulingLink
from syncd.store.scheduling import booking_by_token, link_token


@dataclass(frozen=True)
class SlotChoice:
    start_utc: str  # ISO, what the form posts back
    label: str  # "09:30 – 10:00"


@dataclass
class DayOfSlots:
    label: str  # "Tuesday 8 January 2030"
    slots: list[SlotChoice] = field(default_factory=list)


@dataclass
class PageState:
    summary: str
    duration_minutes: int
    tzid: str
    days: list[DayOfSlots]
    blocked_reason: str | None = None
    closed_message: str | None = None
    invitee_name: str = ""
    invitee_email: str = ""


def invitee_zone(requested: str | None, link: SchedulingLink) -> str:
    """The zone to show: the invitee's choice if it is a real zone, else the link's."""
    for candidate in (requested, link.request.get("tzid"), "Etc/UTC"):
        if candidate:
            try:
                zone_for(candidate)
                return candidate
            except ValueError:
                continue
    return "Etc/UTC"


def booking_page(
    session: Session,
    token: str,
    requested_zone: str | None,
    now: dt.datetime,
    staleness_bound: float,
    reopen: bool = False,
) -> PageState:
    """The slots of the link now, by day in the invitee's zone; a page that shows none
    queues the link's ``no_times_displayed`` callback (once per link). ``reopen``: the
    slots of a completed link, for rescheduling its booking."""
    link = link_for_token(session, token)
    zone_name = invitee_zone(requested_zone, link)
    zone = zone_for(zone_name)
    offer = offered_slots(session, open_view(link) if reopen else link, now, staleness_bound)
    days: list[DayOfSlots] = []
    for slot in offer.slots:
        start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        label = f"{start:%A} {start.day} {start:%B %Y}"
        if not days or days[-1].label != label:
            days.append(DayOfSlots(label))
        days[-1].slots.append(SlotChoice(slot.start.isoformat(), f"{start:%H:%M} – {end:%H:%M}"))
    if not days and offer.closed_message is None:
        _page_callback(session, link, "no_times_displayed")
    preset = link.request.get("invitee") or {}
    return PageState(
        summary=link.request["event"]["summary"],
        duration_minutes=int(link.request["availability"]["required_duration"]["minutes"]),
        tzid=zone_name,
        days=days,
        blocked_reason=offer.blocked_reason,
        closed_message=offer.closed_message,
        invitee_name=preset.get("name") or "",
        invitee_email=preset.get("email") or "",
    )


def reschedule_page(
    session: Session,
    box: SecretBox,
    reschedule_token: str,
    requested_zone: str | None,
    now: dt.datetime,
    staleness_bound: float,
) -> tuple[PageState, Confirmation]:
    """The slots a booking may move to (its link's, even once completed) and the booking."""
    booking, link = booking_for(session, reschedule_token, "reschedule")
    if booking.status != "booked":
        raise NotFoundError("this booking is no longer active")
    state = booking_page(
        session,
        link_token(box, link),
        requested_zone or booking.invitee_tzid,
        now,
        staleness_bound,
        reopen=True,
    )
    return state, confirmation(booking, link)


def report_no_times_suitable(session: Session, token: str) -> None:
    """The invitee said none of the times suit them: the link's callback, once."""
    _page_callback(session, link_for_token(session, token), "no_times_suitable")


def _page_callback(session: Session, link: SchedulingLink, kind: str) -> None:
    url = (link.request.get("callback_urls") or {}).get(f"{kind}_url")
    if url:
        payload = {
            "notification": {"type": kind},
            "real_time_scheduling": {"real_time_scheduling_id": link.id},
        }
        enqueue_once(session, link.application_id, kind, url, payload, f"{kind}-{link.id}")


@dataclass(frozen=True)
class Confirmation:
    summary: str
    tzid: str
    when: str  # "Tuesday 8 January 2030, 10:00 – 11:00"
    status: str


def booking_for(session: Session, token: str, kind: str) -> tuple[Booking, SchedulingLink]:
    """The booking a reschedule/cancel token belongs to, without spending the token."""
    booking = booking_by_token(session, token, kind, for_update=False)
    if booking is None:
        raise NotFoundError("this link has already been used or does not exist")
    link = session.get(SchedulingLink, booking.link_id)
    assert link is not None
    return booking, link


def confirmation(booking: Booking, link: SchedulingLink) -> Confirmation:
    zone = zone_for(invitee_zone(booking.invitee_tzid, link))
    start, end = booking.start_utc.astimezone(zone), booking.end_utc.astimezone(zone)
    when = f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M} – {end:%H:%M}"
    return Confirmation(link.request["event"]["summary"], str(zone), when, booking.status)


def booking_ics(booking: Booking, link: SchedulingLink) -> bytes:
    """The booked event as an iCalendar file for the invitee's own calendar."""
    calendar = ICalendar()
    calendar.add("prodid", "-//syncd//booking//EN")
    calendar.add("version", "2.0")
    event = IEvent()
    event.add("uid", f"{booking.id}@syncd")
    event.add("summary", link.request["event"]["summary"])
    description = link.request["event"].get("description") or ""
    if description:
        event.add("description", description)
    event.add("dtstart", booking.start_utc)
    event.add("dtend", booking.end_utc)
    event.add("dtstamp", booking.created_at)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
