"""Request limits, enforced before a route (and FastAPI's body parsing) sees the request.

An ASGI middleware, so nothing is buffered that it has not allowed:

- a ``/v1`` request that carries a body must authenticate first (401 before one byte
  of the body is read: an anonymous client cannot make the daemon hold its upload);
  what was found is handed to the route in the scope (``syncd.api.auth.AUTHENTICATED``),
  so the request is not authenticated twice;
- a ``Content-Length`` above ``max_body_bytes`` is a 413 at once, unread; a body that
  comes without one (chunked) is counted while it streams in and refused with 413 as
  soon as the count passes the limit, the rest never read;
- a JSON body nested deeper than ``max_json_depth`` or with an array longer than
  ``max_json_array_length``, or with a NUL character in a string, is a 422 in Cronofy's
  shape (field ``body``); so is a form body (``syncd.api.bodies``) that makes such a value.

The body that passes is handed on to the app as one message. A ``/v1`` body is parsed
here, once (``syncd.api.bodies.parse_body``): the value goes into the scope under
``PARSED_BODY``, and a form body is handed on re-encoded as JSON, so every route reads
JSON whichever encoding the client chose. ``/push/…`` is left alone:
that route caps what it reads itself and answers bare statuses.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncd.api.auth import AUTHENTICATED, Authenticated, check_bearer
from syncd.api.bodies import PARSED_BODY, is_form, parse_form
from syncd.api.errors import user_error_response
from syncd.errors import PayloadTooLarge, UserError, invalid

__all__ = ["RequestLimits", "json_shape_problem"]

#: Paths whose routes read (and cap) their bodies themselves.
_SELF_LIMITED = ("/push/",)
#: Paths whose every route authenticates with a bearer credential.
_AUTHENTICATED = ("/v1/",)
#: Paths that also take the application's credentials in the body (cronofy-ruby sends
#: ``client_id``/``client_secret`` there): without a bearer header the route checks them.
_BODY_CREDENTIALS = ("/v1/real_time_scheduling",)


#: No stored text may hold NUL (Postgres text refuses it), so no request value may.
_NUL_PROBLEM = "a text value contains a NUL character"


def json_shape_problem(value: Any, max_depth: int, max_array_length: int) -> str | None:
    """Why a parsed JSON value is too deep, has too long an array or holds a NUL
    character in a string, or None."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return _NUL_PROBLEM
            continue
        if isinstance(item, dict):
            if any("\x00" in key for key in item):
                return _NUL_PROBLEM
            children = list(item.values())
        elif isinstance(item, list):
            if len(item) > max_array_length:
                return f"a JSON array has more than {max_array_length} items"
            children = item
        else:
            continue
        if depth > max_depth:
            return f"the JSON body is nested deeper than {max_depth} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return _header(scope, b"transfer-encoding") is not None


def _declared_length(scope: Scope) -> int | None:
    text = _header(scope, b"content-length")
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON: a JSON media type, or none at all."""
    content_type = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    return (
        not content_type
        or content_type == "application/json"
        or (content_type.startswith("application/") and content_type.endswith("+json"))
    )


class RequestLimits:
    """The middleware; ``authenticate(engine, authorization_header)`` raises a 401, or
    returns what it found, which is left in the scope for the route (one lookup)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_json_depth: int,
        max_json_array_length: int,
        authenticate: Callable[[Any, str | None], Authenticated] = check_bearer,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.max_json_array_length = max_json_array_length
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(_SELF_LIMITED) or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            authorization = _header(scope, b"authorization")
            body_credentials = path in _BODY_CREDENTIALS and authorization is None
            if path.startswith(_AUTHENTICATED) and not body_credentials:
                engine = scope["app"].state.engine
                found = await run_in_threadpool(self.authenticate, engine, authorization)
                scope = {**scope, AUTHENTICATED: found}
            body = await self._read_body(scope, receive)
            content_type = _header(scope, b"content-type")
            if body and is_form(content_type) and path.startswith(_AUTHENTICATED):
                parsed = parse_form(body)
                self._check_shape(parsed)
                body = json.dumps(parsed).encode()
                scope = _as_json(scope, parsed, len(body))
            elif body and _is_json(scope):
                parsed = self._check_json(body)
                if parsed is not _NOT_JSON:
                    scope = {**scope, PARSED_BODY: parsed}
        except UserError as error:
            await user_error_response(error)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole body, or a 413 as soon as it is known to be too large."""
        limit = self.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            raise self._too_large()
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            body += message.get("body", b"")
            if len(body) > limit:
                raise self._too_large()
            if not message.get("more_body", False):
                break
        return bytes(body)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is larger than {self.max_body_bytes} bytes")

    def _check_json(self, body: bytes) -> Any:
        """The parsed JSON body after the shape check, or ``_NOT_JSON``."""
        try:
            value = json.loads(body)
        except RecursionError:
            raise invalid(
                "body",
                "errors.too_deep",
                f"the JSON body is nested deeper than {self.max_json_depth} levels",
            ) from None
        except ValueError:
            return _NOT_JSON  # the route's parser answers it (422 errors.invalid_json)
        self._check_shape(value)
        return value

    def _check_shape(self, value: Any) -> None:
        problem = json_shape_problem(value, self.max_json_depth, self.max_json_array_length)
        if problem is not None:
            key = (
                "errors.invalid"
                if problem is _NUL_PROBLEM
                else "errors.too_many"
                if "array" in problem
                else "errors.too_deep"
            )
            raise invalid("body", key, problem)


#: ``_check_json``'s answer for a body that is not JSON at all.
_NOT_JSON = object()


def _as_json(scope: Scope, parsed: Any, length: int) -> Scope:
    """The scope of a form request handed on as JSON: its parsed value, the JSON media
    type and the re-encoded body's length."""
    headers = [
        (key, value)
        for key, value in scope.get("headers", ())
        if key.lower() not in (b"content-type", b"content-length")
    ]
    headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(length).encode()))
    return {**scope, "headers": headers, PARSED_BODY: parsed}


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[MutableMapping[str, Any]]]:
    """A ``receive`` that hands the app the body read already, then defers to the real
    one (which reports the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
