"""Request bodies: JSON or form-encoded, read once.

Cronofy accepts either on every write ("all requests can be made with a JSON- or
forms-encoded request body"). A form body uses Rack's nested-key encoding, which the
Ruby SDK (through Faraday) and Rails-style clients produce: ``a[b]=1`` is ``{"a":
{"b": "1"}}``, ``a[]=1&a[]=2`` a list, and ``attendees[invite][][email]=x&attendees
[invite][][display_name]=X`` a list of objects, a new object starting whenever a key
repeats in the last one. Values stay strings; the route's model coerces them as it
coerces JSON strings (``"30"`` for an integer, ``"true"`` for a flag).

The limits middleware (``syncd.api.limits``) is the one place bodies are parsed: it
reads every ``/v1`` body (JSON, or a form through :func:`parse_form`), checks its shape,
stores the value in the ASGI scope under :data:`PARSED_BODY` and hands the route a JSON
body (a form re-encoded once), so every write route accepts both encodings unchanged.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from syncd.errors import invalid

__all__ = ["FORM", "PARSED_BODY", "is_form", "parse_form"]

FORM = "application/x-www-form-urlencoded"
#: ASGI scope key holding the parsed body of a ``/v1`` request (after the limits check).
PARSED_BODY = "syncd.parsed_body"
#: Deepest ``a[b][c]…`` nesting a form key may have (the JSON depth limit applies after).
_MAX_KEY_DEPTH = 32
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == FORM


def parse_form(raw: bytes) -> dict[str, Any]:
    """A form body with Rack's nested keys, as the JSON object it stands for."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise invalid("body", "errors.invalid_form", "the form body cannot be read") from None
    params: dict[str, Any] = {}
    for key, value in pairs:
        _store(params, key, value)
    return params


def _store(params: dict[str, Any], key: str, value: str) -> None:
    match = _KEY.match(key)
    if match is None:
        raise _bad_key(key)
    path = [match[1]] + re.findall(r"\[([^\[\]]*)\]", match[2])
    if len(path) > _MAX_KEY_DEPTH:
        raise invalid("body", "errors.too_deep", f"the form key {key[:60]!r} is nested too deep")
    _place(params, path, value, key)


def _place(container: dict[str, Any], path: list[str], value: str, key: str) -> None:
    """Rack's ``normalize_params``: put ``value`` at ``path`` under ``container``."""
    name, rest = path[0], path[1:]
    if not rest:
        container[name] = value
        return
    if rest[0] == "":  # an array: name[] or name[][child]
        items = container.setdefault(name, [])
        if not isinstance(items, list):
            raise _bad_key(key)
        if len(rest) == 1:
            items.append(value)
            return
        child = rest[1:]
        last = items[-1] if items else None
        if not isinstance(last, dict) or _has(last, child):
            last = {}
            items.append(last)
        _place(last, child, value, key)
        return
    nested = container.setdefault(name, {})
    if not isinstance(nested, dict):
        raise _bad_key(key)
    _place(nested, rest, value, key)


def _has(container: dict[str, Any], path: list[str]) -> bool:
    """Whether ``path`` is already set in ``container`` (then a repeat starts a new item)."""
    name, rest = path[0], path[1:]
    if name not in container:
        return False
    if not rest or rest[0] == "":
        return not rest
    nested = container[name]
    return isinstance(nested, dict) and _has(nested, rest)


def _bad_key(key: str) -> Exception:
    return invalid(
        "body", "errors.invalid_form", f"the form key {key[:60]!r} does not fit the others"
    )
