"""Scheduling links: the person's link templates, and personalized links made from one
for one recipient (listed with their status, copied, disabled).

The rules live in ``syncd.scheduling.personal`` (the same code as
``POST /v1/personalized_links``); this module parses forms and renders.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncd.errors import UserError
from syncd.scheduling.personal import (
    REUSABLE,
    SINGLE_USE,
    Recipient,
    TemplateFields,
    create_personal_link,
    create_template,
    disable_personal_link,
    personal_links,
    remove_template,
)
from syncd.store.fleet import conferencing_profiles_with_default_flag
from syncd.store.personal_links import templates_of_account
from syncd.store.queries import calendars_of_account
from syncd.web.auth import SignedIn, signed_in
from syncd.web.context import (
    box_of,
    now_of,
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
Text = Annotated[str, Form()]
_NOTICES = {
    "template": "The template was saved.",
    "template_deleted": "The template was deleted. Links made from it keep working.",
    "disabled": "The link was disabled.",
    "made": "The link was made. Copy it and send it to the recipient.",
}


def _pages_base(request: Request) -> str:
    return server_base_url(request) + settings_of(request).web.prefix


def _page(request: Request, who: SignedIn, status: int = 200, **context: object) -> Response:
    with reading(request) as session:
        templates = templates_of_account(session, who.account.id)
        calendars = [calendar for calendar, _ in calendars_of_account(session, who.account.id)]
        conferencing = conferencing_profiles_with_default_flag(session, who.account.id)
        links = personal_links(session, box_of(request), who.account, _pages_base(request))
    return render(
        request,
        "scheduling_links.html",
        {
            "title": "Scheduling links",
            "active": "web.scheduling_links",
            "templates": templates,
            "template_names": {row.id: row.name for row in templates},
            "calendars": calendars,
            "writable": [calendar for calendar in calendars if not calendar.readonly],
            "conferencing": [profile for profile, _ in conferencing],
            "links": links,
            "single_use": SINGLE_USE,
            "reusable": REUSABLE,
            "values": {},
            **context,
        },
        status_code=status,
    )


@router.get("/links", name="web.scheduling_links")
def scheduling_links_page(request: Request, who: Who, done: str = "", link: str = "") -> Response:
    return _page(request, who, notice=_NOTICES.get(done), made=link if done == "made" else None)


def _minutes(text: str, field: str) -> int:
    try:
        return int(text.strip() or "0")
    except ValueError as error:
        raise UserError(f"{field}: a whole number of minutes") from error


@router.post("/links/templates", name="web.link_template_add", dependencies=[Depends(csrf_protect)])
def add_template(
    request: Request,
    who: Who,
    name: Text,
    duration_minutes: Text,
    target_calendar_id: Text,
    calendar_ids: Annotated[list[str], Form(default_factory=list)],
    use_working_hours: Text = "",
    buffer_before_minutes: Text = "0",
    buffer_after_minutes: Text = "0",
    minimum_notice_minutes: Text = "0",
    conferencing: Text = "",
    callback_url: Text = "",
) -> Response:
    try:
        fields = TemplateFields(
            name=name,
            duration_minutes=_minutes(duration_minutes, "Duration"),
            target_calendar_id=target_calendar_id,
            calendar_ids=calendar_ids or None,
            use_working_hours=bool(use_working_hours),
            buffer_before_minutes=_minutes(buffer_before_minutes, "Buffer before"),
            buffer_after_minutes=_minutes(buffer_after_minutes, "Buffer after"),
            minimum_notice_minutes=_minutes(minimum_notice_minutes, "Minimum notice"),
            conferencing=conferencing or None,
            callback_url=callback_url.strip() or None,
        )
        with transaction(request) as session:
            create_template(session, settings_of(request), session.merge(who.account), fields)
    except UserError as problem:
        return _page(request, who, 422, template_error=form_error(problem))
    return RedirectResponse(
        page_path(request, "web.scheduling_links") + "?done=template", status_code=303
    )


@router.post("/links", name="web.personal_link_add", dependencies=[Depends(csrf_protect)])
def add_link(
    request: Request,
    who: Who,
    template_id: Text,
    recipient_email: Text,
    recipient_name: Text = "",
    correlation_id: Text = "",
    summary: Text = "",
    link_kind: Text = SINGLE_USE,
) -> Response:
    recipient = Recipient(
        email=recipient_email,
        name=recipient_name,
        correlation_id=correlation_id.strip() or None,
        summary=summary.strip() or None,
        link_kind=link_kind,
    )
    try:
        with transaction(request) as session:
            view = create_personal_link(
                session,
                box_of(request),
                settings_of(request),
                session.merge(who.account),
                template_id,
                recipient,
                _pages_base(request),
                now_of(request),
                "page",
            )
            made = view.link.id
    except UserError as problem:
        values = {"recipient_email": recipient_email, "recipient_name": recipient_name}
        return _page(request, who, 422, link_error=form_error(problem), values=values)
    return RedirectResponse(
        page_path(request, "web.scheduling_links") + f"?done=made&link={made}", status_code=303
    )


@router.post(
    "/links/templates/{template_id}/delete",
    name="web.link_template_delete",
    dependencies=[Depends(csrf_protect)],
)
def delete_template(request: Request, who: Who, template_id: str) -> Response:
    with transaction(request) as session:
        remove_template(session, who.account, template_id)
    return RedirectResponse(
        page_path(request, "web.scheduling_links") + "?done=template_deleted", status_code=303
    )


@router.post(
    "/links/{link_id}/disable",
    name="web.personal_link_disable",
    dependencies=[Depends(csrf_protect)],
)
def disable_link(request: Request, who: Who, link_id: str) -> Response:
    try:
        with transaction(request) as session:
            disable_personal_link(session, who.account, link_id)
    except UserError as problem:
        return _page(request, who, 409, error=form_error(problem))
    return RedirectResponse(
        page_path(request, "web.scheduling_links") + "?done=disabled", status_code=303
    )
