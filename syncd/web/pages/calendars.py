"""Calendar Services: every connected profile with its provider, status, why and when
it last synced; add another, reconnect a disconnected one (both through the hosted
flow, :mod:`syncd.web.pages.connect`), remove one after a confirmation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from syncd.authorization.flow import add_flow, relink_flow
from syncd.sync.calendar_services import (
    calendar_services,
    own_profile,
    provider_label,
    remove_calendar_service,
)
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import (
    box_of,
    now_of,
    page_path,
    reading,
    render,
    settings_of,
)
from syncd.web.csrf import csrf_protect
from syncd.web.pages.authorize import flow_url

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]

_NOTICES = {
    "added": "Your calendar service is connected. Its calendars appear after the first sync.",
    "reconnected": "Reconnected. Syncing starts again in a moment.",
    "removed": "The calendar service was removed, with everything synced from it.",
}


@router.get("/calendars", name="web.calendars")
def calendars_page(request: Request, who: Who, done: str = "") -> Response:
    settings = settings_of(request)
    with reading(request) as session:
        lines = calendar_services(
            session, who.account.id, now_of(request), settings.staleness_bound
        )
    return render(
        request,
        "calendars.html",
        {
            "title": "Calendar Services",
            "active": "web.calendars",
            "lines": lines,
            "notice": _NOTICES.get(done),
        },
    )


@router.get("/calendars/add", name="web.calendar_add")
def add_service(request: Request, who: Who) -> Response:
    """The hosted flow, for adding another calendar service."""
    return RedirectResponse(
        flow_url(request, "web.connect", add_flow(who.account)), status_code=303
    )


@router.get("/calendars/{profile_id}/reconnect", name="web.calendar_reconnect")
def reconnect(request: Request, who: Who, profile_id: str) -> Response:
    """The hosted flow for one profile (``profile_relink_url`` lands here)."""
    with reading(request) as session:
        profile = own_profile(session, who.account, profile_id)
    flow = relink_flow(who.account, profile.id)
    return RedirectResponse(flow_url(request, "web.connect", flow), status_code=303)


@router.get("/calendars/{profile_id}/remove", name="web.calendar_remove")
def confirm_removal(request: Request, who: Who, profile_id: str) -> Response:
    with reading(request) as session:
        profile = own_profile(session, who.account, profile_id)
    return render(
        request,
        "confirm.html",
        {
            "title": "Remove a calendar service",
            "active": "web.calendars",
            "question": f"Remove {provider_label(profile)} ({profile.name})?",
            "detail": "Its calendars and their events are removed from this service and from "
            "the applications you use with it. Nothing is deleted at the provider; you can "
            "connect it again later.",
            "action": page_path(request, "web.calendar_remove", profile_id=profile_id),
            "confirm_label": "Remove",
            "cancel": page_path(request, "web.calendars"),
        },
    )


@router.post("/calendars/{profile_id}/remove", dependencies=[Depends(csrf_protect)])
def remove_service(request: Request, who: Who, profile_id: str) -> Response:
    state = request.app.state
    remove_calendar_service(
        state.engine, settings_of(request), box_of(request), who.account, profile_id
    )
    return RedirectResponse(page_path(request, "web.calendars") + "?done=removed", status_code=303)
