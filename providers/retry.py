"""One retry policy for every calendar adapter: honour Retry-After, back off on transient errors.

Only ``RateLimited`` and ``TransientError`` are retried; everything else (revoked
credentials, expired cursors, malformed data) surfaces at once. The mechanics live in
the top-level ``retry_policy`` module, shared with the conferencing adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from providers.errors import RateLimited, TransientError
from retry_policy import MAX_RETRY_AFTER_SECONDS, parse_retry_after, retry_call

__all__ = ["MAX_RETRY_AFTER_SECONDS", "parse_retry_after", "with_retries"]

T = TypeVar("T")


def _requested_wait(error: BaseException) -> float | None:
    return error.retry_after if isinstance(error, RateLimited) else None


def with_retries(
    func: Callable[[], T],
    *,
    attempts: int = 5,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
) -> T:
    """Call ``func`` until it succeeds, retrying rate limits and transient failures."""
    return retry_call(
        func,
        retry_on=(RateLimited, TransientError),
        requested_wait=_requested_wait,
        attempts=attempts,
        initial_wait=initial_wait,
        max_wait=max_wait,
    )
