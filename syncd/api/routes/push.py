"""``/push/google`` and ``/push/microsoft``: where providers report calendar changes.

Thin: ``syncd.sync.push`` checks each notification against its channel's secret and
makes the profile due; these routes only parse what the providers send and choose the
status. They are not part of the Cronofy API (no ``/v1``, no bearer auth, not in the
OpenAPI schema): each channel's own secret is what authenticates a call. Unknown channels
get a bare 404 and bad secrets a bare 403, so nothing about channels leaks; junk input is
a 4xx, never a 5xx.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine

from syncd.sync.push import FORBIDDEN, SCHEDULED, UNKNOWN, accept_google, accept_microsoft

router = APIRouter(tags=["push"], include_in_schema=False)

#: Largest Graph notification body read (Graph batches at most a few hundred entries).
MAX_BODY_BYTES = 1_000_000
#: Longest validationToken echoed back (Graph's are ~100 characters).
MAX_VALIDATION_TOKEN = 4096
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_STATUS = {SCHEDULED: 200, UNKNOWN: 404, FORBIDDEN: 403}


def _bare(status: int) -> Response:
    return Response(status_code=status, headers=_HEADERS)


@router.post("/push/google")
def google_notification(request: Request) -> Response:
    """A Google ``events.watch`` notification (headers only): 200 when genuine."""
    headers = request.headers
    outcome = accept_google(
        request.app.state.engine,
        headers.get("x-goog-channel-id"),
        headers.get("x-goog-channel-token"),
        headers.get("x-goog-resource-id"),
        headers.get("x-goog-resource-state"),
    )
    return _bare(_STATUS.get(outcome, 200))


@router.api_route("/push/microsoft", methods=["GET", "POST"])
async def microsoft_notification(request: Request) -> Response:
    """Graph's validation handshake (echo ``validationToken``) or a batch of notifications.

    Graph wants the handshake answered as text/plain within 10 s and notifications with
    a 2xx within 3 s; both only touch the database briefly.
    """
    token = request.query_params.get("validationToken")
    if token is not None:
        if not token or len(token) > MAX_VALIDATION_TOKEN:
            return _bare(400)
        return PlainTextResponse(token, headers=_HEADERS)
    if request.method != "POST":
        return _bare(405)
    notifications = await _notifications(request)
    if notifications is None:
        return _bare(400)
    engine: Engine = request.app.state.engine
    verdict = await run_in_threadpool(accept_microsoft, engine, notifications)
    return _bare(202 if verdict.outcome == SCHEDULED else _STATUS[verdict.outcome])


async def _notifications(request: Request) -> list[Any] | None:
    """The ``value`` array of a Graph notification body; None when it is not one."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = payload.get("value") if isinstance(payload, dict) else None
    return value if isinstance(value, list) and value else None
