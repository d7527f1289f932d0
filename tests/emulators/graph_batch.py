"""Microsoft Graph JSON batching (``POST /v1.0/$batch``) for the Graph emulator.

As learn.microsoft.com/graph/json-batching documents it: the body is one object whose
``requests`` (1 to ``MAX_BATCH_REQUESTS`` of them, else the whole batch is a 400) each
carry an ``id`` (a string, unique in the batch ignoring case, else a 400), a ``method``
and a ``url`` relative to the version (``/me/events/{id}``), optional ``headers`` and,
with a ``Content-Type`` header, a ``body``. The batch answers 200 with ``responses``:
one per request, each with its ``id``, its own ``status``, ``headers`` and ``body``, in
an order that is not guaranteed: this emulator serves them reversed by default
(``GraphEmulator.batch_order``). Every request is served by the same routes as on its
own, with the batch's ``Authorization``; a queued fault whose path prefix matches a
request's path answers that request only (a 429 item with its own ``Retry-After``).
Nested batches are refused per request.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

from tests.emulators.faults import RecordedRequest
from tests.emulators.serving import Answer, Request

if TYPE_CHECKING:
    from tests.emulators.graph import GraphEmulator

#: Graph's documented limit of requests in one JSON batch.
MAX_BATCH_REQUESTS = 20
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {}}}


def _bad_batch(message: str) -> Answer:
    return 400, _error("BadRequest", message), {}


def batch(emulator: GraphEmulator, request: Request) -> Answer:
    """Answer one ``POST /v1.0/$batch``."""
    payload = request.payload
    entries = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(entries, list) or not entries:
        return _bad_batch("Invalid batch payload format.")
    if len(entries) > MAX_BATCH_REQUESTS:
        return _bad_batch(f"Too many requests in the batch. Limit is {MAX_BATCH_REQUESTS}.")
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            return _bad_batch("Invalid batch payload format: every request needs a string id.")
        if entry["id"].lower() in seen:
            return _bad_batch("Batch request contains duplicate ids.")
        seen.add(entry["id"].lower())
        if not isinstance(entry.get("method"), str) or not isinstance(entry.get("url"), str):
            return _bad_batch("Invalid batch payload format: a request needs method and url.")
    responses = [_one(emulator, request, entry) for entry in entries]
    if emulator.batch_order == "reversed":
        responses.reverse()
    elif emulator.batch_order == "shuffled":
        random.shuffle(responses)
    return 200, {"responses": responses}, {}


def _one(emulator: GraphEmulator, batch_request: Request, entry: dict[str, Any]) -> dict[str, Any]:
    """One request of a batch, served as it would be on its own."""
    method = str(entry["method"]).upper()
    split = urlsplit(str(entry["url"]))
    if split.scheme or split.netloc:
        return _response(entry, 400, _error("BadRequest", "The url must be relative."), {})
    if method not in _METHODS:
        return _response(entry, 400, _error("BadRequest", "Invalid method."), {})
    path = f"{emulator.api_prefix}/{split.path.lstrip('/')}"
    if split.path.strip("/").lower() == "$batch":
        return _response(entry, 400, _error("BadRequest", "Nested batches are not allowed."), {})
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(
        {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}
    )
    authorization = batch_request.headers.get("Authorization")
    if authorization:
        headers["Authorization"] = authorization
    body = entry.get("body")
    if body is not None and "Content-Type" not in headers:
        message = "Content-Type header is required when a body is given."
        return _response(entry, 400, _error("BadRequest", message), {})
    query = parse_qs(split.query, keep_blank_values=True)
    with emulator._lock:
        emulator.batched_requests.append(RecordedRequest(method, path, query, dict(headers)))
    fault = emulator._faults.take(path)
    if fault is not None and fault.kind == "status":
        error = emulator.fault_error(fault) if fault.body is None else fault.body
        return _response(entry, fault.status, error, fault.answer_headers())
    raw = b"" if body is None else json.dumps(body).encode()
    status, answer, extra = emulator.handle(method, path, query, headers, raw)
    return _response(entry, status, answer, extra)


def _response(
    entry: dict[str, Any], status: int, body: Any, headers: dict[str, str]
) -> dict[str, Any]:
    answered: dict[str, Any] = {"id": entry["id"], "status": status, "headers": dict(headers)}
    if body is not None:
        answered["headers"].setdefault("Content-Type", "application/json")
        answered["body"] = body
    return answered
