"""``/v1/personalized_links``: make a personalized scheduling link from one of a
person's link templates (syncd's own endpoint; docs/api.md).

Authenticated with the person's extension token (the browser extension), their access
token, or the application's API key with ``sub``. Everything else lives in
``syncd.scheduling.personal``; this module maps shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field
from sqlmodel import Session

from syncd.api.auth import bearer_scheme
from syncd.api.context import app_settings, write_session
from syncd.api.paging import public_base_url
from syncd.config import Settings
from syncd.cronofy.availability import Lenient
from syncd.cronofy.scheduling import MAX_OPAQUE_LENGTH
from syncd.errors import AuthenticationError
from syncd.scheduling.personal import (
    PersonalView,
    Recipient,
    create_personal_link,
    link_owner,
)
from syncd.store.crypto import SecretBox
from syncd.store.models import Account
from syncd.store.personal_links import templates_of_account

router = APIRouter(tags=["personalized links"])


class RecipientIn(Lenient):
    email: str = Field(min_length=1, max_length=320)
    name: str = Field(default="", max_length=200)


class EventIn(Lenient):
    summary: str | None = Field(default=None, min_length=1, max_length=1024)


class PersonalizedLinkIn(Lenient):
    template_id: str = Field(min_length=1, max_length=100)
    recipient: RecipientIn
    correlation_id: str | None = Field(default=None, max_length=MAX_OPAQUE_LENGTH)
    event: EventIn | None = None
    link_kind: Literal["single_use", "reusable"] = "single_use"
    #: With the application's API key: the account whose template it is.
    sub: str | None = Field(default=None, max_length=200)
    #: Who asked (kept with the link): ``api`` or ``extension``.
    source: Literal["api", "extension"] = "api"


def _secret(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise AuthenticationError(
            "an Authorization: Bearer header is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return credentials.credentials


def _owner(
    request: Request,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    sub: str | None,
) -> Account:
    return link_owner(session, _secret(credentials), sub, request.app.state.clock())


def _pages_base(request: Request, settings: Settings) -> str:
    return public_base_url(request, settings) + settings.web.prefix


def _answer(view: PersonalView) -> dict[str, Any]:
    personal = view.personal
    return {
        "personalized_link": {
            "real_time_scheduling_id": view.link.id,
            "url": view.url,
            "status": view.link.status,
            "link_kind": "single_use" if view.link.single_use else "reusable",
            "template_id": personal.template_id,
            "recipient": {"email": personal.recipient_email, "name": personal.recipient_name},
            "correlation_id": personal.correlation_id,
            "event": {"summary": personal.summary},
        }
    }


@router.post("/v1/personalized_links")
def create_personalized_link(
    body: PersonalizedLinkIn,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(write_session, scope="function"),
    settings: Settings = Depends(app_settings),
) -> dict[str, Any]:
    """A link for one recipient: ``{"personalized_link": {real_time_scheduling_id, url, …}}``."""
    account = _owner(request, session, credentials, body.sub)
    box: SecretBox = request.app.state.box
    view = create_personal_link(
        session,
        box,
        settings,
        account,
        body.template_id,
        Recipient(
            email=body.recipient.email,
            name=body.recipient.name,
            correlation_id=body.correlation_id,
            summary=body.event.summary if body.event else None,
            link_kind=body.link_kind,
        ),
        _pages_base(request, settings),
        request.app.state.clock(),
        body.source,
    )
    answer = _answer(view)
    session.commit()
    return answer


@router.get("/v1/personalized_links/templates")
def list_link_templates(
    request: Request,
    sub: str | None = None,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(write_session, scope="function"),
) -> dict[str, Any]:
    """The templates a link can be made from (the extension's picker)."""
    account = _owner(request, session, credentials, sub)
    templates = [
        {
            "template_id": row.id,
            "name": row.name,
            "duration_minutes": row.duration_minutes,
        }
        for row in templates_of_account(session, account.id)
    ]
    session.commit()  # the extension token's last use
    return {"link_templates": templates, "account": {"sub": account.id, "email": account.email}}
