"""One retry policy for every adapter: honour Retry-After, back off on transient errors.

Only ``RateLimited`` and ``TransientError`` are retried; everything else (revoked
credentials, expired cursors, malformed data) surfaces at once.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from providers.base import RateLimited, TransientError

T = TypeVar("T")

#: Upper bound on a single Retry-After wait, so a hostile or buggy header cannot park a worker.
MAX_RETRY_AFTER_SECONDS = 120.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _WaitRetryAfter:
    """tenacity wait: the provider's Retry-After when it gave one, else exponential jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._fallback = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
        return self._fallback(state)


def with_retries(
    func: Callable[[], T],
    *,
    attempts: int = 5,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
) -> T:
    """Call ``func`` until it succeeds, retrying rate limits and transient failures."""
    retrying = retry(
        retry=retry_if_exception_type((RateLimited, TransientError)),
        wait=_WaitRetryAfter(initial_wait, max_wait),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )
    return retrying(func)()
