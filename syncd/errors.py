"""The one error taxonomy of syncd's core.

Every error syncd raises on purpose derives from :class:`SyncdError`. Those the caller
(an API client, or the operator at the CLI) can act on are :class:`UserError`\\ s: each
carries a stable ``code`` (the Cronofy error code where Cronofy has one) and the HTTP
status the API answers with. They are turned into output in exactly two places:
``syncd.cli`` (every :class:`SyncdError`: one line on stderr, exit 2) and
``syncd.api.errors`` (every :class:`UserError`, in Cronofy's error shapes). Nothing else
catches them to print or to build a response.

:class:`OperatorError`\\ s are deliberate too, but only the operator can fix them (a key
that does not decrypt the stored secrets, an adapter that is not installed): the CLI
prints them like a :class:`UserError`; the API answers 500 and logs them, as the caller
can do nothing about them.

Adapter errors (``providers.errors``) are a separate tree on purpose: adapters may not
import syncd, and the sync engine decides what a provider failure means for a profile.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "ConfigError",
    "ConflictError",
    "FieldErrorMap",
    "FieldErrors",
    "ForbiddenError",
    "NotFoundError",
    "OperatorError",
    "PayloadTooLarge",
    "SecretBoxError",
    "ServiceUnavailableError",
    "SyncdError",
    "TooManyAttempts",
    "UnknownProvider",
    "UserError",
    "invalid",
]

#: ``{"<field>": [{"key": "errors.<what>", "description": "<text>"}]}`` (Cronofy's 422).
FieldErrorMap = dict[str, list[dict[str, str]]]


class SyncdError(Exception):
    """Base of every error syncd raises on purpose; anything else is a bug (HTTP 500)."""

    code: str = "internal_error"
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(SyncdError):
    """A failure the caller or operator can fix, with a stable code and an HTTP status.

    ``code`` and ``http_status`` default to the class's; a raise site may narrow them
    (e.g. ``UserError("…", code="invalid_key", http_status=401)``). ``headers`` are sent
    with the HTTP answer (``WWW-Authenticate``, ``Retry-After``).
    """

    code = "bad_request"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.headers = headers

    @property
    def description(self) -> str:
        return self.message


class OperatorError(SyncdError):
    """Deliberate, but only the operator can fix it; the API answers 500 (and logs it)."""


class SecretBoxError(OperatorError):
    """No key configured, a key that is not a Fernet key, or a stored secret that none of
    the configured keys decrypts."""


class UnknownProvider(OperatorError):
    """No adapter is installed under that name (``syncd.providers`` or
    ``syncd.conferencing_providers`` entry points)."""


class ConfigError(UserError):
    """The settings (file or ``SYNCD_*`` variable) are invalid; names the key."""

    code = "invalid_config"


class AuthenticationError(UserError):
    """No credentials, or credentials that do not verify."""

    code = "unauthorized"
    http_status = 401


class AuthorizationError(UserError):
    """An OAuth authorization cannot be completed: a forged or expired ``state``, a refused
    code, a redirect the CLI cannot catch, an unknown or unconfigured service."""

    code = "authorization_failed"


class ForbiddenError(UserError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"
    http_status = 403


class NotFoundError(UserError):
    """The named thing does not exist (or belongs to another application)."""

    code = "not_found"
    http_status = 404


class ConflictError(UserError):
    """The request clashes with the current state (a duplicate name, a taken lease)."""

    code = "conflict"
    http_status = 409


class PayloadTooLarge(UserError):
    """The request body is larger than the route accepts (HTTP 413)."""

    code = "payload_too_large"
    http_status = 413


class TooManyAttempts(UserError):
    """429: too many failed sign-ins; says when the next attempt will be heard."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_at: dt.datetime, now: dt.datetime) -> None:
        wait = max(1, int((retry_at - now).total_seconds()) + 1)
        super().__init__(message, headers={"Retry-After": str(wait)})
        self.retry_at = retry_at


class ServiceUnavailableError(UserError):
    """A dependency is not ready (the database is busy or locked, a server did not start)."""

    code = "service_unavailable"
    http_status = 503


class FieldErrors(UserError):
    """422: one or more request fields are invalid (collect them all, then raise once)."""

    code = "unprocessable_entity"
    http_status = 422

    def __init__(self, errors: FieldErrorMap | None = None) -> None:
        super().__init__("invalid request")
        self.errors: FieldErrorMap = errors or {}

    def add(self, field: str, key: str, description: str) -> None:
        self.errors.setdefault(field, []).append({"key": key, "description": description})

    def raise_if_any(self) -> None:
        if self.errors:
            raise self

    def __str__(self) -> str:
        parts = [f"{field}: {e['description']}" for field, es in self.errors.items() for e in es]
        return "; ".join(parts) or self.message


def invalid(field: str, key: str, description: str) -> FieldErrors:
    """A single-field 422, ready to raise."""
    errors = FieldErrors()
    errors.add(field, key, description)
    return errors
