"""Real-Time Scheduling (Cronofy's shapes): create a link, read its status, disable it.

Authenticated with the application's secret (its API key, which is what Cronofy's SDKs
send as ``client_secret``): as a Bearer header (pycronofy, cronofy-node) or as
``client_id``/``client_secret`` in the body (cronofy-ruby). Checks and storage live in
``syncd.scheduling.links``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlmodel import Session

from syncd.api.auth import bearer_scheme
from syncd.api.context import app_settings, db_session, write_session
from syncd.api.paging import public_base_url
from syncd.config import Settings
from syncd.cronofy.scheduling import DisableRequest, RealTimeSchedulingRequest
from syncd.errors import AuthenticationError
from syncd.scheduling.links import (
    LinkView,
    create_scheduling_link,
    disable_link,
    link_status,
    status_event,
)
from syncd.store.crypto import SecretBox
from syncd.store.tenants import application_for_api_key

router = APIRouter(tags=["real-time scheduling"])

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class RealTimeSchedulingOut(BaseModel):
    real_time_scheduling_id: str
    url: str
    status: str | None = None
    event: dict[str, Any] | None = None
    display_message: str | None = None


class RealTimeSchedulingResponse(BaseModel):
    real_time_scheduling: RealTimeSchedulingOut


def _application_id(
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> str:
    """The application whose secret was given (an account token is refused: 403)."""
    secret = credentials.credentials if credentials is not None else client_secret
    if not secret:
        raise AuthenticationError(
            "the application's client_secret is required (Bearer or in the body)",
            headers=_CHALLENGE,
        )
    application = application_for_api_key(session, secret)
    if application is None:
        raise AuthenticationError("the credentials are not recognised", headers=_CHALLENGE)
    if credentials is None and client_id not in (None, application.id):
        raise AuthenticationError("client_id does not match client_secret", headers=_CHALLENGE)
    return application.id


def _pages_base(request: Request, settings: Settings) -> str:
    """Where the booking pages are served: the public URL and the pages' prefix."""
    return public_base_url(request, settings) + settings.web.prefix


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def _answer(view: LinkView, with_status: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"real_time_scheduling_id": view.link.id, "url": view.url}
    if with_status:
        out["status"] = view.link.status
        event = status_event(view)
        if event is not None:
            out["event"] = event
        if view.link.display_message:
            out["display_message"] = view.link.display_message
    return {"real_time_scheduling": out}


@router.post(
    "/v1/real_time_scheduling",
    response_model=RealTimeSchedulingResponse,
    response_model_exclude_none=True,
)
def create_real_time_scheduling(
    body: RealTimeSchedulingRequest,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(write_session, scope="function"),
    settings: Settings = Depends(app_settings),
) -> dict[str, Any]:
    """A scheduling link for the invitee: ``{"real_time_scheduling": {id, url}}``."""
    application_id = _application_id(session, credentials, body.client_id, body.client_secret)
    view = create_scheduling_link(
        session,
        _box(request),
        settings,
        application_id,
        body,
        _pages_base(request, settings),
    )
    answer = _answer(view, with_status=False)
    session.commit()
    return answer


@router.get(
    "/v1/real_time_scheduling",
    response_model=RealTimeSchedulingResponse,
    response_model_exclude_none=True,
)
def real_time_scheduling_by_token(
    token: str,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
) -> dict[str, Any]:
    return _status_answer(request, credentials, session, settings, token=token)


@router.get(
    "/v1/real_time_scheduling/{real_time_scheduling_id}",
    response_model=RealTimeSchedulingResponse,
    response_model_exclude_none=True,
)
def real_time_scheduling_by_id(
    real_time_scheduling_id: str,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(db_session),
    settings: Settings = Depends(app_settings),
) -> dict[str, Any]:
    return _status_answer(request, credentials, session, settings, link_id=real_time_scheduling_id)


def _status_answer(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    session: Session,
    settings: Settings,
    **which: str,
) -> dict[str, Any]:
    """A link's wrapper with its status, found by ``token`` or ``link_id``, for the
    calling application only."""
    application_id = _application_id(session, credentials)
    view = link_status(
        session, _box(request), application_id, _pages_base(request, settings), **which
    )
    return _answer(view, with_status=True)


@router.post(
    "/v1/real_time_scheduling/{real_time_scheduling_id}/disable",
    response_model=RealTimeSchedulingResponse,
    response_model_exclude_none=True,
)
def disable_real_time_scheduling(
    real_time_scheduling_id: str,
    body: DisableRequest,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    session: Session = Depends(write_session, scope="function"),
    settings: Settings = Depends(app_settings),
) -> dict[str, Any]:
    """Disable an open link; visitors see ``display_message`` (plain text)."""
    application_id = _application_id(session, credentials)
    view = disable_link(
        session,
        _box(request),
        application_id,
        real_time_scheduling_id,
        body.display_message,
        _pages_base(request, settings),
    )
    answer = _answer(view, with_status=True)
    session.commit()
    return answer
