"""Scheduling links, bookings and the time bookings hold: the store side.

Booking is serialized per member: :func:`lock_accounts` takes a row lock on every
member's account (``SELECT … FOR UPDATE`` in one sorted order on Postgres, so two
bookers never deadlock; SQLite's write transactions are serialized already by ``BEGIN
IMMEDIATE``). Inside that transaction the slot is checked again against busy time *and*
the holds of earlier bookings, so two invitees choosing the same time get one booking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlmodel import Session, col

from syncd.errors import NotFoundError
from syncd.ids import new_id
from syncd.store.crypto import SecretBox, hash_secret, new_api_secret
from syncd.store.models import Account, Booking, BookingHold, SchedulingLink, utcnow

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def create_link(
    session: Session,
    box: SecretBox,
    application_id: str,
    request: dict[str, object],
    single_use: bool = True,
) -> tuple[SchedulingLink, str]:
    """A new open link; returns it and its URL token (shown in the URL only)."""
    token = new_api_secret("rts")
    link = SchedulingLink(
        id=new_id("sch"),
        application_id=application_id,
        token_hash=hash_secret(token),
        token_encrypted=box.encrypt({"token": token}),
        request=dict(request),
        single_use=single_use,
    )
    session.add(link)
    session.flush()
    return link, token


def link_token(box: SecretBox, link: SchedulingLink) -> str:
    return str(box.decrypt(link.token_encrypted)["token"])


def link_by_token(session: Session, token: str, for_update: bool = False) -> SchedulingLink | None:
    query = select(SchedulingLink).where(col(SchedulingLink.token_hash) == hash_secret(token))
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def link_of_application(session: Session, application_id: str, link_id: str) -> SchedulingLink:
    """The application's link; another application's is answered like a missing one."""
    link = session.get(SchedulingLink, link_id)
    if link is None or link.application_id != application_id:
        raise NotFoundError(f"no scheduling link {link_id!r}")
    return link


def links_of_application(session: Session, application_id: str) -> list[SchedulingLink]:
    return list(
        session.execute(
            select(SchedulingLink)
            .where(col(SchedulingLink.application_id) == application_id)
            .order_by(col(SchedulingLink.created_at).desc())
        ).scalars()
    )


def set_link_status(
    session: Session, link: SchedulingLink, status: str, display_message: str | None = None
) -> None:
    link.status = status
    if display_message is not None:
        link.display_message = display_message
    link.updated_at = utcnow()
    session.add(link)
    session.flush()


def lock_accounts(session: Session, account_ids: Sequence[str]) -> None:
    """Row-lock the members' accounts until the transaction ends (sorted: no deadlocks)."""
    for account_id in sorted(set(account_ids)):
        session.execute(
            select(col(Account.id)).where(col(Account.id) == account_id).with_for_update()
        )


def add_booking(
    session: Session,
    link: SchedulingLink,
    start: dt.datetime,
    end: dt.datetime,
    account_ids: Sequence[str],
    invitee: dict[str, str],
    prefill: dict[str, str],
) -> tuple[Booking, str, str]:
    """Record a booking and its holds; returns it with its reschedule and cancel tokens."""
    reschedule_token = new_api_secret("rsch")
    cancel_token = new_api_secret("cncl")
    booking = Booking(
        id=new_id("bkg"),
        link_id=link.id,
        application_id=link.application_id,
        start_utc=start,
        end_utc=end,
        invitee_name=invitee.get("name", ""),
        invitee_email=invitee.get("email", ""),
        invitee_tzid=invitee.get("tzid", "Etc/UTC"),
        prefill=dict(prefill),
        reschedule_token_hash=hash_secret(reschedule_token),
        cancel_token_hash=hash_secret(cancel_token),
    )
    session.add(booking)
    session.flush()
    for account_id in dict.fromkeys(account_ids):
        session.add(
            BookingHold(booking_id=booking.id, account_id=account_id, start_utc=start, end_utc=end)
        )
    session.flush()
    return booking, reschedule_token, cancel_token


def set_booking_events(session: Session, booking: Booking, events: list[list[str]]) -> None:
    booking.events = events
    session.add(booking)
    session.flush()


def booking_by_token(
    session: Session, token: str, kind: str, for_update: bool = True
) -> Booking | None:
    """The booking a one-time ``reschedule`` or ``cancel`` token belongs to."""
    column = (
        col(Booking.reschedule_token_hash)
        if kind == "reschedule"
        else col(Booking.cancel_token_hash)
    )
    query = select(Booking).where(column == hash_secret(token))
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def end_booking(session: Session, booking: Booking, status: str) -> None:
    """Cancel (or mark rescheduled): both tokens are spent and the holds released."""
    booking.status = status
    booking.reschedule_token_hash = None
    booking.cancel_token_hash = None
    session.add(booking)
    session.execute(delete(BookingHold).where(col(BookingHold.booking_id) == booking.id))
    session.flush()


def bookings_of_link(session: Session, link_id: str) -> list[Booking]:
    return list(
        session.execute(
            select(Booking).where(col(Booking.link_id) == link_id).order_by(col(Booking.created_at))
        ).scalars()
    )


def holds_by_account(
    session: Session, account_ids: Sequence[str], start: dt.datetime, end: dt.datetime
) -> dict[str, list[tuple[int, int]]]:
    """Held time overlapping ``[start, end)`` per account, as epoch microseconds."""
    found: dict[str, list[tuple[int, int]]] = {}
    if not account_ids:
        return found
    rows = session.execute(
        select(BookingHold).where(
            col(BookingHold.account_id).in_(list(account_ids)),
            col(BookingHold.start_utc) < end,
            col(BookingHold.end_utc) > start,
        )
    ).scalars()
    for hold in rows:
        found.setdefault(hold.account_id, []).append(
            (
                (hold.start_utc - _EPOCH) // _MICROSECOND,
                (hold.end_utc - _EPOCH) // _MICROSECOND,
            )
        )
    return found
