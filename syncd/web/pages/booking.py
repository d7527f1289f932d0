"""The hosted booking page of a scheduling link, its confirmation, and the one-time
reschedule and cancel pages.

Anyone with the link may book (the link's token is the capability); every form carries
the CSRF token. Each route parses the form, calls one function of
``syncd.scheduling`` and renders the answer; times are always shown with their zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from syncd.errors import NotFoundError, UserError
from syncd.scheduling.booking import Booked, Invitee, SlotTaken, book, cancel, reschedule
from syncd.scheduling.page import (
    booking_for,
    booking_ics,
    booking_page,
    confirmation,
    report_no_times_suitable,
    reschedule_page,
)
from syncd.web.context import box_of, now_of, page_path, reading, render, settings_of, transaction
from syncd.web.csrf import csrf_protect
from syncd.web.pages.profile import time_zones

router = APIRouter()
Text = Annotated[str, Form()]
Optional = Annotated[str, Form()]

#: Query-string values the page passes on to the booking (opaque, capped on booking).
PREFILL_KEYS = (
    "correlation_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)


def _prefill(values: Any) -> dict[str, str]:
    return {key: str(values[key]) for key in PREFILL_KEYS if values.get(key)}


def _slots_page(
    request: Request,
    token: str,
    zone: str | None,
    *,
    error: str | None = None,
    status: int = 200,
    name: str = "",
    email: str = "",
    prefill: dict[str, str] | None = None,
    auto_zone: bool = False,
) -> Response:
    settings = settings_of(request)
    with transaction(request) as session:
        state = booking_page(session, token, zone, now_of(request), settings.staleness_bound)
    return render(
        request,
        "booking.html",
        {
            "title": state.summary,
            "state": state,
            "token": token,
            "error": error,
            "name": name or state.invitee_name,
            "email": email or state.invitee_email,
            "prefill": prefill if prefill is not None else _prefill(request.query_params),
            "time_zones": time_zones(),
            "book_action": page_path(request, "web.book", token=token),
            "zone_action": page_path(request, "web.booking", token=token),
            # The browser's zone replaces the link's, unless the invitee chose one.
            "auto_zone": auto_zone,
        },
        status_code=status,
    )


@router.get("/rts/{token}", name="web.booking")
def booking(request: Request, token: str, tz: str | None = None) -> Response:
    """The slots, grouped by day in the invitee's zone (``tz``, the browser's by default)."""
    return _slots_page(request, token, tz, auto_zone=tz is None)


@router.post("/rts/{token}/book", name="web.book", dependencies=[Depends(csrf_protect)])
async def book_slot(request: Request, token: str) -> Response:
    form = await request.form()
    values = {key: str(value) for key, value in form.items()}
    zone = values.get("tz") or "Etc/UTC"
    name, email = values.get("name", "").strip(), values.get("email", "").strip()
    prefill = _prefill(values)
    if not name or "@" not in email:
        return _slots_page(
            request,
            token,
            zone,
            error="Please give your name and email address.",
            status=422,
            name=name,
            email=email,
            prefill=prefill,
        )
    try:
        start = dt.datetime.fromisoformat(values.get("start", ""))
    except ValueError:
        return _slots_page(request, token, zone, error="Choose a time.", status=422)
    settings = settings_of(request)
    try:
        with transaction(request) as session:
            booked = book(
                session,
                token,
                start,
                Invitee(name, email, zone),
                prefill,
                now_of(request),
                settings.staleness_bound,
            )
    except SlotTaken as taken:
        return _slots_page(
            request,
            token,
            zone,
            error=taken.message,
            status=409,
            name=name,
            email=email,
            prefill=prefill,
        )
    except UserError as refused:
        if isinstance(refused, NotFoundError):
            raise
        return _slots_page(
            request,
            token,
            zone,
            error=refused.message,
            status=refused.http_status,
            name=name,
            email=email,
            prefill=prefill,
        )
    return render(request, "booked.html", _confirmation(request, booked))


def _confirmation(request: Request, booked: Booked) -> dict[str, Any]:
    with reading(request) as session:
        booking, link = booking_for(session, booked.cancel_token, "cancel")
        shown = confirmation(booking, link)
    return {
        "title": "Booked",
        "shown": shown,
        "ics_url": page_path(request, "web.booking_ics", token=booked.cancel_token),
        "reschedule_url": page_path(request, "web.reschedule", token=booked.reschedule_token),
        "cancel_url": page_path(request, "web.cancel", token=booked.cancel_token),
        "continue_url": booked.redirect_url,
    }


@router.post(
    "/rts/{token}/none-suitable", name="web.none_suitable", dependencies=[Depends(csrf_protect)]
)
def none_suitable(request: Request, token: str) -> Response:
    with transaction(request) as session:
        report_no_times_suitable(session, token)
    return render(
        request,
        "booking_note.html",
        {
            "title": "Thank you",
            "message": (
                "Thank you: the organiser has been told that none of these times suit you."
            ),
        },
    )


@router.get("/booking/{token}/event.ics", name="web.booking_ics")
def download_ics(request: Request, token: str) -> Response:
    """The booked event as a file (the confirmation's cancel token names the booking)."""
    with reading(request) as session:
        booking, link = booking_for(session, token, "cancel")
        body = booking_ics(booking, link)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="booking.ics"'},
    )


@router.get("/booking/{token}/cancel", name="web.cancel")
def cancel_page(request: Request, token: str) -> Response:
    with reading(request) as session:
        booking, link = booking_for(session, token, "cancel")
        shown = confirmation(booking, link)
    return render(
        request, "booking_cancel.html", {"title": "Cancel", "shown": shown, "token": token}
    )


@router.post(
    "/booking/{token}/cancel", name="web.cancel_post", dependencies=[Depends(csrf_protect)]
)
def cancel_post(request: Request, token: str) -> Response:
    with transaction(request) as session:
        cancel(session, token)
    return render(
        request,
        "booking_note.html",
        {"title": "Cancelled", "message": ("Your booking was cancelled.")},
    )


@router.get("/booking/{token}/reschedule", name="web.reschedule")
def reschedule_get(request: Request, token: str, tz: str | None = None) -> Response:
    settings = settings_of(request)
    with transaction(request) as session:
        state, shown = reschedule_page(
            session, box_of(request), token, tz, now_of(request), settings.staleness_bound
        )
    return render(
        request,
        "booking.html",
        {
            "title": f"Reschedule: {state.summary}",
            "state": state,
            "token": token,
            "rescheduling": shown,
            "time_zones": time_zones(),
            "book_action": page_path(request, "web.reschedule_post", token=token),
            "zone_action": page_path(request, "web.reschedule", token=token),
            "prefill": {},
            "auto_zone": tz is None,
        },
    )


@router.post(
    "/booking/{token}/reschedule", name="web.reschedule_post", dependencies=[Depends(csrf_protect)]
)
async def reschedule_post(request: Request, token: str) -> Response:
    form = await request.form()
    settings = settings_of(request)
    try:
        start = dt.datetime.fromisoformat(str(form.get("start", "")))
        with transaction(request) as session:
            booked = reschedule(
                session, box_of(request), token, start, now_of(request), settings.staleness_bound
            )
    except (ValueError, SlotTaken) as problem:
        message = problem.message if isinstance(problem, SlotTaken) else "Choose a time."
        return render(
            request,
            "booking_note.html",
            {"title": "Not rescheduled", "message": message},
            status_code=409,
        )
    return render(request, "booked.html", _confirmation(request, booked))
