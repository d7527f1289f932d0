"""JSON errors for every failure, in Cronofy's shapes, and never with a stack trace.

The one place the API turns errors into answers: routes and the domain raise
``syncd.errors`` classes (a :class:`~syncd.errors.UserError` carries its status, code and
headers) and never build an error response themselves.

- 422 (:class:`~syncd.errors.FieldErrors`, and FastAPI's own validation):
  ``{"errors": {"<field>": [{"key": "errors.<what>", "description": "<text>"}]}}``,
  the shape Cronofy clients (and pycronofy's ``create_calendar``) parse;
- any other :class:`~syncd.errors.UserError` (and Starlette's 404/405):
  ``{"error": "<code>", "description": "<text>"}``; clients key off the status code, the
  body is for the humans reading logs;
- anything else, :class:`~syncd.errors.OperatorError` included: a logged, bare 500.

Requests for the hosted pages get HTML instead: ``app.state.html_errors`` (set by
``syncd.web.install``) is asked first and answers for the paths it owns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncd.errors import FieldErrorMap, FieldErrors, UserError

__all__ = [
    "error_body",
    "field_path",
    "install_error_handlers",
    "user_error_response",
    "validation_error_map",
]

log = logging.getLogger(__name__)

#: Pydantic error types → Cronofy-style error keys (anything else is ``errors.invalid``).
_PYDANTIC_KEYS = {
    "missing": "errors.required",
    "too_long": "errors.too_many",
    "too_short": "errors.too_few",
    "greater_than": "errors.too_small",
    "greater_than_equal": "errors.too_small",
    "less_than": "errors.too_large",
    "less_than_equal": "errors.too_large",
    "json_invalid": "errors.invalid_json",
    "timezone_aware": "errors.timezone_required",
}

#: Default error codes for plain HTTP statuses.
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def field_path(location: Sequence[int | str]) -> str:
    """``("participants", 0, "members", 1, "sub")`` → ``participants[0].members[1].sub``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _validation_field(location: Sequence[int | str]) -> str:
    """The field a pydantic/FastAPI error is about, without the request-part prefix."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts.pop(0)
        if where == "body" and parts and isinstance(parts[0], int):
            parts = []  # a JSON syntax error reports the character offset
        if not parts:
            return str(where)
    return field_path(parts) or "base"


def validation_error_map(errors: Sequence[Any]) -> FieldErrorMap:
    """FastAPI/pydantic validation errors in the Cronofy 422 shape."""
    collected = FieldErrors()
    for error in errors:
        error_type = str(error.get("type", ""))
        # Our validators raise PydanticCustomError with the Cronofy key as the type.
        key = error_type if error_type.startswith("errors.") else None
        key = key or _PYDANTIC_KEYS.get(error_type, "errors.invalid")
        collected.add(
            _validation_field(error.get("loc", ())), key, str(error.get("msg", "invalid"))
        )
    return collected.errors


def error_body(code: str, description: str) -> dict[str, str]:
    return {"error": code, "description": description}


def _html(request: Request, exc: Exception) -> Response | None:
    """The hosted pages' own answer, when the request is theirs (see the module doc)."""
    renderer = getattr(request.app.state, "html_errors", None)
    return renderer(request, exc) if renderer is not None else None


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if (page := _html(request, exc)) is not None:
        return page
    return JSONResponse({"errors": validation_error_map(exc.errors())}, status_code=422)


def user_error_response(exc: UserError) -> JSONResponse:
    """A :class:`~syncd.errors.UserError`'s answer: its status, headers and Cronofy body
    (also used by the request-limits middleware, which runs outside the handlers)."""
    if isinstance(exc, FieldErrors):
        return JSONResponse({"errors": exc.errors}, status_code=exc.http_status)
    return JSONResponse(
        error_body(exc.code, exc.description), status_code=exc.http_status, headers=exc.headers
    )


async def _on_user_error(request: Request, exc: Exception) -> Response:
    """Every :class:`~syncd.errors.UserError`: its status, headers and Cronofy body."""
    assert isinstance(exc, UserError)
    if (page := _html(request, exc)) is not None:
        return page
    return user_error_response(exc)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) as JSON in our shape."""
    assert isinstance(exc, StarletteHTTPException)
    if (page := _html(request, exc)) is not None:
        return page
    code = _STATUS_CODES.get(exc.status_code, "error")
    description = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(
        error_body(code, description),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _on_unexpected_error(request: Request, exc: Exception) -> Response:
    """Log the traceback for the operator; the caller learns only that it failed."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if (page := _html(request, exc)) is not None:
        return page
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(UserError, _on_user_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected_error)
