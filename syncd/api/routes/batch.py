"""POST /v1/batch: several event calls in one request, as Cronofy's batch endpoint.

Body ``{"batch": [{"method", "relative_url", "data"}]}``; answer **207** with
``{"batch": [{"status", "data"?}]}`` in the same order, each entry exactly what the call
would have answered on its own (``data`` is its JSON body, absent when it has none). Each
entry runs through this same application with the caller's credential, in order, each in
its own transaction: a failing entry does not undo the others (Cronofy's semantics;
pycronofy raises ``PyCronofyPartialSuccessError`` for the failed ones).

Entries may be the event calls Cronofy's SDK batch builders make: ``POST`` or ``DELETE
/v1/calendars/{calendar_id}/events`` and ``POST …/events/{event_uid}/participation_status``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from syncd.api.auth import account_caller
from syncd.store.models import Account

router = APIRouter(tags=["events"])

#: Entries one batch may hold.
MAX_BATCH = 50
#: (method, relative URL) an entry may name.
ALLOWED = (
    ("POST", re.compile(r"^/v1/calendars/[^/?#]+/events$")),
    ("DELETE", re.compile(r"^/v1/calendars/[^/?#]+/events$")),
    ("POST", re.compile(r"^/v1/calendars/[^/?#]+/events/[^/?#]+/participation_status$")),
)


class BatchEntryIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    method: Literal["POST", "DELETE", "post", "delete"]
    relative_url: str = Field(min_length=1, max_length=2048)
    data: dict[str, Any] | None = None


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    batch: list[BatchEntryIn] = Field(min_length=1, max_length=MAX_BATCH)


def _allowed(method: str, url: str) -> bool:
    return any(method == allowed and pattern.match(url) for allowed, pattern in ALLOWED)


@router.post("/v1/batch", status_code=207)
async def batch(
    request: Request, body: BatchIn, account: Account = Depends(account_caller)
) -> JSONResponse:
    """Run each entry as its own call; 207 with every entry's status and body."""
    del account  # authenticated here; each entry is authenticated again as itself
    headers = {
        "Authorization": request.headers.get("authorization", ""),
        "Content-Type": "application/json",
    }
    transport = httpx.ASGITransport(app=request.app)
    results: list[dict[str, Any]] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://batch") as client:
        for entry in body.batch:
            method = entry.method.upper()
            if not _allowed(method, entry.relative_url):
                results.append(
                    {
                        "status": 404,
                        "data": {
                            "error": "not_found",
                            "description": f"{method} {entry.relative_url} cannot be batched",
                        },
                    }
                )
                continue
            response = await client.request(
                method,
                entry.relative_url,
                content=json.dumps(entry.data or {}),
                headers=headers,
            )
            result: dict[str, Any] = {"status": response.status_code}
            if response.content:
                try:
                    result["data"] = response.json()
                except ValueError:
                    result["data"] = {"error": "invalid_response"}
            results.append(result)
    return JSONResponse(status_code=207, content={"batch": results})
