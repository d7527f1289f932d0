"""Real-Time Scheduling links: created, read and disabled for an application.

A link is a stored, fully checked request: every field is honoured when the invitee
books (``syncd.scheduling.booking``) or refused here with a 422, so nothing a caller
sends is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from syncd.availability import zone_for
from syncd.conferencing.plan import check_requested_conferencing
from syncd.config import Settings
from syncd.cronofy.scheduling import (
    MAX_OPAQUE_LENGTH,
    UTM_KEYS,
    RealTimeSchedulingRequest,
    as_stored,
)
from syncd.cronofy.times import format_utc
from syncd.errors import ConflictError, FieldErrors, NotFoundError
from syncd.notify.urls import validate_webhook_url
from syncd.scheduling.availability import check_availability_request
from syncd.store.crypto import SecretBox
from syncd.store.managed import calendar_of_account
from syncd.store.models import Booking, SchedulingLink
from syncd.store.queries import accounts_of_application
from syncd.store.scheduling import (
    bookings_of_link,
    create_link,
    link_by_token,
    link_of_application,
    link_token,
    set_link_status,
)

OPEN, COMPLETED, DISABLED = "open", "completed", "disabled"


@dataclass(frozen=True)
class LinkView:
    """What the status endpoints answer about a link."""

    link: SchedulingLink
    url: str
    booking: Booking | None


def create_scheduling_link(
    session: Session,
    box: SecretBox,
    settings: Settings,
    application_id: str,
    body: RealTimeSchedulingRequest,
    base_url: str,
) -> LinkView:
    """Check every field, then store the link; answers its id and URL."""
    check_link_request(session, settings, application_id, body)
    link, token = create_link(
        session, box, application_id, as_stored(body), single_use=body.single_use
    )
    return LinkView(link, link_url(base_url, token), None)


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/rts/{token}"


def check_link_request(
    session: Session, settings: Settings, application_id: str, body: RealTimeSchedulingRequest
) -> None:
    """Every problem with the request, as one 422."""
    problems = FieldErrors()
    if body.oauth.scope:
        problems.add(
            "oauth.scope",
            "errors.not_supported",
            "syncd does not ask invitees to authorize calendar access; leave scope out",
        )
    _check_urls(problems, settings, body)
    for where, zone in (("tzid", body.tzid), ("event.tzid", body.event.tzid)):
        if zone is not None:
            try:
                zone_for(zone)
            except ValueError:
                problems.add(where, "errors.tzid_unrecognized", f"unknown time zone {zone!r}")
    if body.availability.response_format == "periods":
        problems.add(
            "availability.response_format",
            "errors.invalid",
            'a scheduling link offers slots: "slots" or "overlapping_slots"',
        )
    for key, value in (body.utm or {}).items():
        if key not in UTM_KEYS:
            problems.add(f"utm.{key}", "errors.invalid", f"one of {', '.join(UTM_KEYS)}")
        elif len(value) > MAX_OPAQUE_LENGTH:
            problems.add(f"utm.{key}", "errors.too_long", f"at most {MAX_OPAQUE_LENGTH}")
    try:
        check_availability_request(body.availability)
    except FieldErrors as nested:
        _nest(problems, "availability.", nested)
    _check_members(session, problems, application_id, body)
    problems.raise_if_any()


def _nest(problems: FieldErrors, prefix: str, nested: FieldErrors) -> None:
    for field, errors in nested.errors.items():
        for error in errors:
            problems.add(f"{prefix}{field}", error["key"], error["description"])


def _check_urls(problems: FieldErrors, settings: Settings, body: RealTimeSchedulingRequest) -> None:
    _check_page_url(problems, "oauth.redirect_uri", body.oauth.redirect_uri)
    if body.redirect_urls and body.redirect_urls.completed_url:
        _check_page_url(problems, "redirect_urls.completed_url", body.redirect_urls.completed_url)
    callbacks = [("callback_url", body.callback_url)]
    if body.callback_urls:
        callbacks += [
            (f"callback_urls.{name}", getattr(body.callback_urls, name))
            for name in ("completed_url", "no_times_suitable_url", "no_times_displayed_url")
        ]
    for where, url in callbacks:
        if url is not None:
            try:
                validate_webhook_url(url, settings)
            except ValueError as error:
                problems.add(where, "errors.invalid", str(error))


def _check_members(
    session: Session, problems: FieldErrors, application_id: str, body: RealTimeSchedulingRequest
) -> None:
    """Members and target calendars are the application's own, and writable."""
    subs = [m.sub for group in body.availability.participants for m in group.members]
    subs += [target.sub for target in body.target_calendars]
    accounts = accounts_of_application(session, application_id, list(dict.fromkeys(subs)))
    for group_index, group in enumerate(body.availability.participants):
        for member_index, member in enumerate(group.members):
            if member.sub not in accounts:
                problems.add(
                    f"availability.participants[{group_index}].members[{member_index}].sub",
                    "errors.not_found",
                    f"no account {member.sub!r}",
                )
    if not any(target.event for target in body.target_calendars):
        problems.add("target_calendars", "errors.invalid", "at least one needs event: true")
    for index, target in enumerate(body.target_calendars):
        where = f"target_calendars[{index}]"
        account = accounts.get(target.sub)
        if account is None:
            problems.add(f"{where}.sub", "errors.not_found", f"no account {target.sub!r}")
            continue
        calendar = calendar_of_account(session, account.id, target.calendar_id)
        if calendar is None:
            problems.add(f"{where}.calendar_id", "errors.not_found", "no such calendar")
            continue
        if calendar.readonly and target.event:
            problems.add(f"{where}.calendar_id", "errors.invalid", "the calendar is read-only")
        conferencing = body.event.conferencing
        if conferencing is not None and target.event:
            nested = FieldErrors()
            check_requested_conferencing(
                session,
                account,
                calendar,
                conferencing.profile_id,
                conferencing.provider_description,
                conferencing.join_url,
                nested,
            )
            _nest(problems, "event.", nested)


def _check_page_url(problems: FieldErrors, where: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.add(where, "errors.invalid", "must be an http(s) URL")


def link_status(
    session: Session,
    box: SecretBox,
    application_id: str,
    base_url: str,
    link_id: str | None = None,
    token: str | None = None,
) -> LinkView:
    """The application's link by id or URL token (another application's: 404)."""
    if token is not None:
        found = link_by_token(session, token)
        if found is None or found.application_id != application_id:
            raise NotFoundError("no scheduling link for that token")
        link = found
    else:
        link = link_of_application(session, application_id, link_id or "")
    return _view(session, box, link, base_url)


def disable_link(
    session: Session,
    box: SecretBox,
    application_id: str,
    link_id: str,
    display_message: str,
    base_url: str,
) -> LinkView:
    """Close an open link with a plain-text message for its visitors."""
    link = link_of_application(session, application_id, link_id)
    if link.status == COMPLETED:
        raise ConflictError("a completed link cannot be disabled")
    set_link_status(session, link, DISABLED, display_message)
    return _view(session, box, link, base_url)


def _view(session: Session, box: SecretBox, link: SchedulingLink, base_url: str) -> LinkView:
    booked = [b for b in bookings_of_link(session, link.id) if b.status == "booked"]
    return LinkView(link, link_url(base_url, link_token(box, link)), booked[-1] if booked else None)


def status_event(view: LinkView) -> dict[str, Any] | None:
    """The chosen event (Cronofy's ``event`` with ``start``/``end``) once booked."""
    booking = view.booking
    if booking is None:
        return None
    event = dict(view.link.request.get("event") or {})
    zone = event.get("tzid") or view.link.request.get("tzid") or "Etc/UTC"
    event.update(
        {
            "start": {"time": format_utc(booking.start_utc), "tzid": zone},
            "end": {"time": format_utc(booking.end_utc), "tzid": zone},
        }
    )
    return {key: value for key, value in event.items() if value is not None}
