"""``/push/<provider>``: where providers report calendar changes.

Thin: the provider's adapter (found through ``syncd.registry``) parses what it sends
(``CalendarProvider.parse_push_notification``), ``syncd.sync.push`` checks each
notification against its channel's secret and makes the profile due, and this route
chooses the status. It is not part of the Cronofy API (no ``/v1``, no bearer auth, not
in the OpenAPI schema): each channel's own secret is what authenticates a call. Unknown
providers and channels get a bare 404 and bad secrets a bare 403, so nothing about
channels leaks; junk input is a 4xx, never a 5xx.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine

from providers.base import CalendarProvider, ProviderError, PushRequest
from syncd.errors import UnknownProvider
from syncd.registry import provider_class
from syncd.sync.push import FORBIDDEN, IGNORED, SCHEDULED, UNKNOWN, accept_notifications

router = APIRouter(tags=["push"], include_in_schema=False)

#: Largest notification body read (Graph batches at most a few hundred entries).
MAX_BODY_BYTES = 1_000_000
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_STATUS = {UNKNOWN: 404, FORBIDDEN: 403}


def _bare(status: int) -> Response:
    return Response(status_code=status, headers=_HEADERS)


@router.api_route("/push/{provider}", methods=["GET", "POST"])
async def push_notification(provider: str, request: Request) -> Response:
    """A provider's callback: a handshake to answer, or notifications to check.

    Notifications only come by POST; any other method may only be a handshake.
    """
    adapter = _push_adapter(provider)
    if adapter is None:
        return _bare(404)
    try:
        callback = adapter.parse_push_notification(await _push_request(request))
    except ProviderError:
        return _bare(400)
    if callback.handshake_reply is not None:
        return PlainTextResponse(callback.handshake_reply, headers=_HEADERS)
    if request.method != "POST":
        return _bare(405)
    engine: Engine = request.app.state.engine
    verdict = await run_in_threadpool(
        accept_notifications, engine, provider, callback.notifications
    )
    if verdict.outcome in (SCHEDULED, IGNORED):
        return _bare(callback.accepted_status)
    return _bare(_STATUS[verdict.outcome])


def _push_adapter(provider: str) -> type[CalendarProvider] | None:
    try:
        adapter = provider_class(provider)
    except UnknownProvider:
        return None
    return adapter if adapter.supports_push else None


async def _push_request(request: Request) -> PushRequest:
    """The call as the adapter sees it; the body is not read past ``MAX_BODY_BYTES``."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), value)
    body = bytearray()
    too_large = False
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            too_large = True
            break
    return PushRequest(
        method=request.method,
        headers=headers,
        query=dict(request.query_params),
        body=None if too_large else bytes(body),
    )
