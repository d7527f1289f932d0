"""Your Profile: email (changing it asks for the password), name, time zone, week start
and the 12/24-hour clock. ``/v1/userinfo`` reads the same account, so it follows."""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.errors import UserError
from syncd.identity.accounts import TIME_FORMATS, WEEK_STARTS, change_email, update_preferences
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import page_path, render, transaction
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error

router = APIRouter()
Text = Annotated[str, Form()]

_NOTICES = {"saved": "Your profile was saved.", "email": "Your email address was changed."}


@cache
def time_zones() -> list[str]:
    """Every IANA zone name this system knows (from tzdata), sorted."""
    return sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC")


def _page(
    request: Request,
    who: SignedIn,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    account = who.account
    return render(
        request,
        "profile.html",
        {
            "title": "Your Profile",
            "active": "web.home",
            "account": account,
            "values": values or {},
            "time_zones": time_zones(),
            "week_starts": WEEK_STARTS,
            "time_formats": TIME_FORMATS,
            "error": error,
            "notice": notice,
        },
        status_code=status,
    )


@router.get("", name="web.home")
@router.get("/", include_in_schema=False)
def profile_page(
    request: Request, who: Annotated[SignedIn, Depends(signed_in)], done: str = ""
) -> Response:
    return _page(request, who, notice=_NOTICES.get(done))


@router.post("/profile", name="web.profile_save", dependencies=[Depends(csrf_protect)])
def save_profile(
    request: Request,
    who: Annotated[SignedIn, Depends(signed_in)],
    name: Annotated[str, Form()] = "",
    timezone: Text = "",
    week_start: Text = "monday",
    time_format: Text = "24h",
) -> Response:
    try:
        with transaction(request) as session:
            account = session.merge(who.account)
            update_preferences(
                session,
                account,
                name=name,
                timezone=timezone,
                week_start=week_start,
                time_format=time_format,
            )
    except UserError as problem:
        values = {
            "name": name,
            "timezone": timezone,
            "week_start": week_start,
            "time_format": time_format,
        }
        return _page(request, who, error=form_error(problem), status=422, values=values)
    return RedirectResponse(page_path(request, "web.home") + "?done=saved", status_code=303)


@router.post("/profile/email", name="web.profile_email", dependencies=[Depends(csrf_protect)])
def save_email(
    request: Request, who: Annotated[SignedIn, Depends(signed_in)], email: Text, password: Text
) -> Response:
    try:
        with transaction(request) as session:
            account = session.merge(who.account)
            change_email(session, account, email, password)
    except UserError as problem:
        return _page(request, who, error=form_error(problem), status=422, values={"email": email})
    return RedirectResponse(page_path(request, "web.home") + "?done=email", status_code=303)
