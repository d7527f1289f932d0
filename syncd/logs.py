"""Logging: readable on a terminal, one JSON object per line otherwise (journald, containers).

Every record logged during a sync run carries the run's ``profile_id`` and ``account_id``
(:func:`log_context`), so one profile's story can be filtered out of a fleet's logs. Secrets
never reach the output: a filter masks bearer tokens, OAuth token fields, passwords and
syncd's own key formats in messages and extra fields, whatever code logged them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
NOISY_LOGGERS = ("googleapiclient.discovery_cache", "urllib3", "apscheduler", "httpx", "alembic")

_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "syncd_log_context", default=None
)

MASK = "***"
_SECRET_PATTERNS = (
    # Authorization headers and "Bearer …" wherever they appear
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # key=value or "key": "value" for token-ish names (query strings, JSON, reprs)
    re.compile(
        r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret|password|"
        r"api_key|secret|token)[\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]{4,})"
    ),
    # syncd's own secrets: API keys, account access tokens, webhook secrets
    re.compile(r"\b(?:sk|at|whsec)_[A-Za-z0-9_-]{16,}"),
    # Google refresh and access tokens
    re.compile(r"\b(?:1//|ya29\.)[A-Za-z0-9._-]{8,}"),
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda match: match.group(1) + MASK, text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda match: match.group(1) + " " + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text


@contextmanager
def log_context(**fields: Any) -> Iterator[dict[str, Any]]:
    """Add ``fields`` to every record logged in this context (thread/task); the yielded
    dict may be updated as more becomes known (e.g. the account once the profile loads)."""
    current = dict(_CONTEXT.get() or {})
    current.update(fields)
    token = _CONTEXT.set(current)
    try:
        yield current
    finally:
        _CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current :func:`log_context` fields onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class RedactingFormatter(logging.Formatter):
    """The plain-text format with secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        document.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(document, default=str))


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to ``sys.stderr`` as it is then, not as it was when logging was
    configured: where stderr is swapped and closed later (a CLI command run in process
    by the tests), records never go to a closed stream."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """``StreamHandler.__init__`` sets the stream; this handler has none of its own."""


def configure_logging(level: str = "INFO", json_lines: bool | None = None) -> None:
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = CurrentStderrHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    set_level(level)


def set_level(level: str) -> None:
    """Change the log level of a running process (SIGHUP reload)."""
    logging.getLogger().setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
