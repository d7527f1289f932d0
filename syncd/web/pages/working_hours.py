"""Working hours: the account's default availability rule (``availability_rule_id``
``default``), the one ``managed_availability: true`` uses when a query names no rule.

A day may have several periods (a lunch break is two rows for one day); blank rows are
left out. The checks are syncd.store.availability_rules' own, so the page and
``POST /v1/availability_rules`` refuse the same things.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.availability import WEEKDAYS
from syncd.errors import UserError
from syncd.store.availability_rules import DEFAULT_RULE_ID, find_rule, save_rule
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import page_path, reading, render, transaction
from syncd.web.csrf import csrf_protect
from syncd.web.forms import form_error
from syncd.web.pages.profile import time_zones

router = APIRouter()
Who = Annotated[SignedIn, Depends(signed_in)]
Rows = Annotated[list[str], Form(default_factory=list)]

#: Empty rows offered under the saved ones, for adding periods without scripts.
BLANK_ROWS = 3


def _page(
    request: Request,
    who: SignedIn,
    periods: list[dict[str, str]] | None = None,
    tzid: str | None = None,
    status: int = 200,
    **context: object,
) -> Response:
    with reading(request) as session:
        rule = find_rule(session, who.account.id, DEFAULT_RULE_ID)
    if periods is None or tzid is None:
        periods = list(rule.weekly_periods) if rule is not None else []
        tzid = rule.tzid if rule is not None else who.account.timezone
    blank = {"day": "", "start_time": "", "end_time": ""}
    return render(
        request,
        "working_hours.html",
        {
            "title": "Working hours",
            "active": "web.working_hours",
            "rows": periods + [blank] * BLANK_ROWS,
            "tzid": tzid,
            "saved": rule is not None,
            "weekdays": WEEKDAYS,
            "time_zones": time_zones(),
            **context,
        },
        status_code=status,
    )


@router.get("/working-hours", name="web.working_hours")
def working_hours_page(request: Request, who: Who, done: str = "") -> Response:
    notice = "Your working hours were saved." if done == "saved" else None
    return _page(request, who, notice=notice)


@router.post("/working-hours", name="web.working_hours_save", dependencies=[Depends(csrf_protect)])
def save_working_hours(
    request: Request,
    who: Who,
    tzid: Annotated[str, Form()],
    day: Rows,
    start_time: Rows,
    end_time: Rows,
) -> Response:
    periods = [
        {"day": d.strip(), "start_time": s.strip(), "end_time": e.strip()}
        for d, s, e in zip(day, start_time, end_time, strict=False)
        if d.strip() or s.strip() or e.strip()
    ]
    try:
        with transaction(request) as session:
            save_rule(session, who.account.id, DEFAULT_RULE_ID, tzid.strip(), periods)
    except UserError as problem:
        return _page(request, who, periods, tzid, 422, error=form_error(problem))
    return RedirectResponse(
        page_path(request, "web.working_hours") + "?done=saved", status_code=303
    )
