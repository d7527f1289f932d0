"""Personalized scheduling links: a person's link templates, and links made from one
for one recipient (from Your Profile, an application, or the browser extension).

A personalized link is an ordinary Real-Time Scheduling link built from the template
(``syncd.scheduling.links``), so the booking page, the booking core, the callback and
``GET /v1/real_time_scheduling`` all treat it like any other; the recipient's name and
email are the link's ``invitee`` prefill. Every field is checked here (one 422 with
every problem) before anything is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from syncd.conferencing.plan import check_requested_conferencing
from syncd.config import Settings
from syncd.cronofy.scheduling import MAX_OPAQUE_LENGTH, RealTimeSchedulingRequest
from syncd.errors import AuthenticationError, ConflictError, FieldErrors, invalid
from syncd.notify.urls import validate_webhook_url
from syncd.scheduling.links import (
    COMPLETED,
    DISABLED,
    LinkView,
    create_scheduling_link,
    link_url,
)
from syncd.store.crypto import SecretBox
from syncd.store.link_models import LinkTemplate, PersonalLink
from syncd.store.managed import calendar_of_account
from syncd.store.models import Account, SchedulingLink
from syncd.store.personal_links import (
    account_for_extension_token,
    add_personal_link,
    add_template,
    delete_template,
    personal_link_of_account,
    personal_links_of_account,
    template_of_account,
)
from syncd.store.queries import calendar_ids_by_account
from syncd.store.scheduling import link_token, set_link_status
from syncd.store.tenants import account_for_access_token, application_for_api_key, find_account

#: How far ahead a personalized link offers times (Cronofy's query span is 35 days).
OFFER_DAYS = 28
MAX_DURATION = 8 * 60
MAX_BUFFER = 4 * 60
MAX_NOTICE = 14 * 24 * 60
SINGLE_USE, REUSABLE = "single_use", "reusable"
DISABLED_MESSAGE = "This scheduling link is no longer available."


@dataclass(frozen=True)
class TemplateFields:
    """What a template says, as typed on the page or sent to the API."""

    name: str
    duration_minutes: int
    target_calendar_id: str
    calendar_ids: list[str] | None = None
    use_working_hours: bool = True
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    minimum_notice_minutes: int = 0
    conferencing: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class Recipient:
    """Who one personalized link is for."""

    email: str
    name: str = ""
    correlation_id: str | None = None
    summary: str | None = None
    link_kind: str = SINGLE_USE


@dataclass(frozen=True)
class PersonalView:
    personal: PersonalLink
    link: SchedulingLink
    url: str


def create_template(
    session: Session, settings: Settings, account: Account, fields: TemplateFields
) -> LinkTemplate:
    """Check every field against the account's own calendars and services, then store."""
    problems = FieldErrors()
    if not 1 <= len(fields.name.strip()) <= 100:
        problems.add("name", "errors.invalid", "must be 1 to 100 characters")
    _bounded(problems, "duration_minutes", fields.duration_minutes, 5, MAX_DURATION)
    _bounded(problems, "buffer_before_minutes", fields.buffer_before_minutes, 0, MAX_BUFFER)
    _bounded(problems, "buffer_after_minutes", fields.buffer_after_minutes, 0, MAX_BUFFER)
    _bounded(problems, "minimum_notice_minutes", fields.minimum_notice_minutes, 0, MAX_NOTICE)
    own = set(calendar_ids_by_account(session, [account.id])[account.id])
    if fields.calendar_ids is not None:
        if not fields.calendar_ids:
            problems.add("calendar_ids", "errors.blank", "choose at least one calendar")
        unknown = [cid for cid in fields.calendar_ids if cid not in own]
        if unknown:
            problems.add("calendar_ids", "errors.not_found", "not your calendars")
    calendar = calendar_of_account(session, account.id, fields.target_calendar_id)
    if calendar is None:
        problems.add("target_calendar_id", "errors.not_found", "not one of your calendars")
    elif calendar.readonly:
        problems.add("target_calendar_id", "errors.invalid", "the calendar is read-only")
    elif fields.conferencing:
        check_requested_conferencing(
            session, account, calendar, fields.conferencing, None, None, problems
        )
    if fields.callback_url:
        try:
            validate_webhook_url(fields.callback_url, settings)
        except ValueError as error:
            problems.add("callback_url", "errors.invalid", str(error))
    problems.raise_if_any()
    return add_template(
        session,
        account.id,
        name=fields.name.strip(),
        duration_minutes=fields.duration_minutes,
        target_calendar_id=fields.target_calendar_id,
        calendar_ids=list(dict.fromkeys(fields.calendar_ids)) if fields.calendar_ids else None,
        use_working_hours=fields.use_working_hours,
        buffer_before_minutes=fields.buffer_before_minutes,
        buffer_after_minutes=fields.buffer_after_minutes,
        minimum_notice_minutes=fields.minimum_notice_minutes,
        conferencing=fields.conferencing or None,
        callback_url=fields.callback_url or None,
    )


def _bounded(problems: FieldErrors, field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        problems.add(field, "errors.invalid", f"must be between {low} and {high}")


def check_recipient(recipient: Recipient) -> None:
    problems = FieldErrors()
    email = recipient.email.strip()
    if not email or len(email) > 320 or "@" not in email.strip("@"):
        problems.add("recipient.email", "errors.invalid", "must be an email address")
    if len(recipient.name) > 200:
        problems.add("recipient.name", "errors.too_long", "at most 200 characters")
    if recipient.correlation_id is not None and len(recipient.correlation_id) > MAX_OPAQUE_LENGTH:
        problems.add("correlation_id", "errors.too_long", f"at most {MAX_OPAQUE_LENGTH}")
    if recipient.summary is not None and not 1 <= len(recipient.summary) <= 1024:
        problems.add("event.summary", "errors.invalid", "must be 1 to 1024 characters")
    if recipient.link_kind not in (SINGLE_USE, REUSABLE):
        problems.add("link_kind", "errors.invalid", f"{SINGLE_USE} or {REUSABLE}")
    problems.raise_if_any()


def create_personal_link(
    session: Session,
    box: SecretBox,
    settings: Settings,
    account: Account,
    template_id: str,
    recipient: Recipient,
    base_url: str,
    now: dt.datetime,
    made_by: str,
) -> PersonalView:
    """A link from the template for the recipient, offering the next ``OFFER_DAYS``."""
    template = template_of_account(session, account.id, template_id)
    check_recipient(recipient)
    summary = recipient.summary or _default_summary(template, account, recipient)
    body = RealTimeSchedulingRequest.model_validate(
        _request(template, account, recipient, summary, base_url, now)
    )
    view: LinkView = create_scheduling_link(
        session, box, settings, account.application_id, body, base_url
    )
    personal = add_personal_link(
        session,
        view.link,
        account_id=account.id,
        template_id=template.id,
        recipient_name=recipient.name.strip(),
        recipient_email=recipient.email.strip(),
        summary=summary,
        correlation_id=recipient.correlation_id,
        made_by=made_by,
    )
    return PersonalView(personal, view.link, view.url)


def _default_summary(template: LinkTemplate, account: Account, recipient: Recipient) -> str:
    who = recipient.name.strip() or recipient.email.strip()
    host = account.name or account.email
    return f"{template.name}: {who} and {host}"


def _request(
    template: LinkTemplate,
    account: Account,
    recipient: Recipient,
    summary: str,
    base_url: str,
    now: dt.datetime,
) -> dict[str, Any]:
    start = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    member: dict[str, Any] = {"sub": account.id, "managed_availability": template.use_working_hours}
    if template.calendar_ids:
        member["calendar_ids"] = template.calendar_ids
    event: dict[str, Any] = {"summary": summary, "tzid": account.timezone}
    if template.conferencing:
        event["conferencing"] = {"profile_id": template.conferencing}
    body: dict[str, Any] = {
        "oauth": {"redirect_uri": base_url},
        "event": event,
        "availability": {
            "participants": [{"members": [member], "required": "all"}],
            "required_duration": {"minutes": template.duration_minutes},
            "start_interval": {"minutes": _interval(template.duration_minutes)},
            "buffer": {
                "before": {"minutes": template.buffer_before_minutes},
                "after": {"minutes": template.buffer_after_minutes},
            },
            "query_periods": [
                {
                    "start": start.isoformat(),
                    "end": (start + dt.timedelta(days=OFFER_DAYS)).isoformat(),
                }
            ],
        },
        "target_calendars": [{"sub": account.id, "calendar_id": template.target_calendar_id}],
        "minimum_notice": {"minutes": template.minimum_notice_minutes},
        "tzid": account.timezone,
        "invitee": {"name": recipient.name.strip() or None, "email": recipient.email.strip()},
        "single_use": recipient.link_kind == SINGLE_USE,
    }
    if recipient.correlation_id:
        body["correlation_id"] = recipient.correlation_id
    if template.callback_url:
        body["callback_url"] = template.callback_url
    return body


def _interval(duration: int) -> int:
    """Slots start on the quarter hour for short meetings, the half hour for longer ones."""
    return 15 if duration <= 30 else 30


def personal_links(
    session: Session, box: SecretBox, account: Account, base_url: str
) -> list[PersonalView]:
    return [
        PersonalView(personal, link, link_url(base_url, link_token(box, link)))
        for personal, link in personal_links_of_account(session, account.id)
    ]


def remove_template(session: Session, account: Account, template_id: str) -> None:
    """Take one of the account's own templates off its list (another's: 404); links
    already made from it keep working."""
    delete_template(session, template_of_account(session, account.id, template_id))


def disable_personal_link(session: Session, account: Account, link_id: str) -> None:
    """Close one of the account's own links (a completed one stays completed)."""
    _, link = personal_link_of_account(session, account.id, link_id)
    if link.status == COMPLETED:
        raise ConflictError("a completed link cannot be disabled")
    if link.status != DISABLED:
        set_link_status(session, link, DISABLED, DISABLED_MESSAGE)


def link_owner(session: Session, secret: str, sub: str | None, now: dt.datetime) -> Account:
    """Whose links a Bearer credential makes: a personal extension token's account, an
    account access token's, or (the application's API key) the application's account
    ``sub``. An extension token is good for nothing else (``syncd.api.auth`` refuses it)."""
    owner_id = account_for_extension_token(session, secret, now)
    if owner_id is None:
        application = application_for_api_key(session, secret)
        if application is not None:
            if not sub:
                raise invalid("sub", "errors.required", "the account to link for")
            return find_account(session, sub, application.id)
        token_account = account_for_access_token(session, secret)
        owner_id = token_account.id if token_account is not None else None
    if owner_id is None:
        raise AuthenticationError(
            "the credentials are not recognised", headers={"WWW-Authenticate": "Bearer"}
        )
    account = find_account(session, owner_id)
    if sub and sub != account.id:
        raise invalid("sub", "errors.invalid", "a personal credential links for its own account")
    return account
