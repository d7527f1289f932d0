"""Conferencing Services: the linked Zoom, GoTo Meeting, Teams and Meet services with
their status; add one (the provider's OAuth, through syncd.conferencing.authorize, the
same code path as the CLI and the API), remove one, and choose the default that
``conferencing: {"profile_id": "default"}`` uses (8x8 when none is chosen)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.conferencing import authorize
from syncd.conferencing.capabilities import AUTHORIZABLE
from syncd.errors import UserError
from syncd.store.fleet import conferencing_profiles_with_default_flag
from syncd.store.managed import (
    find_conferencing_profile,
    remove_conferencing_profile,
    set_default_conferencing,
)
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import (
    absolute_page_url,
    box_of,
    page_path,
    reading,
    render,
    server_base_url,
    settings_of,
    transaction,
)
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]

LABELS = {"zoom": "Zoom", "goto": "GoTo Meeting", "teams": "Microsoft Teams", "meet": "Google Meet"}
NO_DEFAULT = "8x8"  # the form value for "no service: an 8x8 room"
_NOTICES = {
    "default": "Your default conferencing service was changed.",
    "removed": "The conferencing service was removed.",
}


def _page(request: Request, who: SignedIn, status: int = 200, **context: object) -> Response:
    with reading(request) as session:
        linked = conferencing_profiles_with_default_flag(session, who.account.id)
    available = authorize.configured(settings_of(request))
    return render(
        request,
        "conferencing.html",
        {
            "title": "Conferencing Services",
            "active": "web.conferencing",
            "linked": linked,
            "has_default": any(is_default for _, is_default in linked),
            "available": [(name, LABELS.get(name, name)) for name in available],
            "labels": LABELS,
            "no_default": NO_DEFAULT,
            **context,
        },
        status_code=status,
    )


@router.get("/conferencing", name="web.conferencing")
def conferencing_page(
    request: Request,
    who: Who,
    done: str = "",
    profile_id: str = "",
    provider_name: str = "",
    error: str = "",
) -> Response:
    """Also where a provider's authorization comes back to (``profile_id`` or ``error``)."""
    notice = _NOTICES.get(done)
    problem = None
    if profile_id and provider_name in AUTHORIZABLE:
        notice = f"{LABELS[provider_name]} is connected."
    elif error:
        label = LABELS.get(provider_name, "The service")
        problem = f"{label} was not connected ({error.replace('_', ' ')}). You can try again."
    return _page(request, who, notice=notice, error=problem)


@router.get("/conferencing/add/{provider}", name="web.conferencing_add")
def add_service(request: Request, who: Who, provider: str) -> Response:
    """Off to the provider's consent page (a link, not a form: the browser leaves the
    site, which the pages' ``form-action 'self'`` would refuse after a POST)."""
    try:
        url = authorize.begin(
            settings_of(request),
            box_of(request),
            who.account,
            provider,
            return_to=absolute_page_url(request, "web.conferencing"),
            callback_url=server_base_url(request) + authorize.CALLBACK_PATH,
        )
    except UserError as problem:
        return _page(request, who, 404, error=form_error(problem))
    return RedirectResponse(url, status_code=303)


@router.post(
    "/conferencing/default", name="web.conferencing_default", dependencies=[Depends(csrf_protect)]
)
def choose_default(request: Request, who: Who, default: Annotated[str, Form()]) -> Response:
    try:
        with transaction(request) as session:
            account = session.merge(who.account)
            set_default_conferencing(session, account, None if default == NO_DEFAULT else default)
    except UserError as problem:
        return _page(request, who, 422, error=form_error(problem))
    return RedirectResponse(
        page_path(request, "web.conferencing") + "?done=default", status_code=303
    )


@router.get("/conferencing/{profile_id}/remove", name="web.conferencing_remove")
def confirm_removal(request: Request, who: Who, profile_id: str) -> Response:
    with reading(request) as session:
        profile = find_conferencing_profile(session, profile_id, who.account.id)
    label = LABELS.get(profile.provider, profile.provider)
    return render(
        request,
        "confirm.html",
        {
            "title": "Remove a conferencing service",
            "active": "web.conferencing",
            "question": f"Remove {label} ({profile.name})?",
            "detail": "Events you add later with this service as their conferencing will get "
            "an 8x8 room instead if it is your default. Meetings already made stay as they are.",
            "action": page_path(request, "web.conferencing_remove", profile_id=profile_id),
            "confirm_label": "Remove",
            "cancel": page_path(request, "web.conferencing"),
        },
    )


@router.post("/conferencing/{profile_id}/remove", dependencies=[Depends(csrf_protect)])
def remove_service(request: Request, who: Who, profile_id: str) -> Response:
    with transaction(request) as session:
        remove_conferencing_profile(
            session, find_conferencing_profile(session, profile_id, who.account.id)
        )
    return RedirectResponse(
        page_path(request, "web.conferencing") + "?done=removed", status_code=303
    )
