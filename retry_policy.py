"""The retry policy both adapter trees share: honour Retry-After, back off otherwise.

Deliberately knows neither ``providers`` nor ``conferencing_providers``: callers say
which exceptions are worth another try and how to read a wait out of one.
``providers.retry`` binds it to the calendar adapters' errors; conferencing adapters
use ``parse_retry_after`` to fill ``RateLimited.retry_after``.
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

__all__ = ["MAX_RETRY_AFTER_SECONDS", "parse_retry_after", "retry_call"]

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
    """tenacity wait: the wait the error asked for when it gave one, else exponential jitter."""

    def __init__(
        self,
        initial: float,
        maximum: float,
        requested_wait: Callable[[BaseException], float | None],
    ) -> None:
        self._fallback = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)
        self._requested_wait = requested_wait

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        requested = self._requested_wait(error) if error is not None else None
        if requested is not None:
            return min(requested, MAX_RETRY_AFTER_SECONDS)
        return float(self._fallback(state))


def retry_call(
    func: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    requested_wait: Callable[[BaseException], float | None],
    attempts: int = 5,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
) -> T:
    """Call ``func`` until it succeeds, retrying the ``retry_on`` exceptions.

    ``requested_wait`` reads the wait an error asked for (a Retry-After), or None.
    """
    retrying = retry(
        retry=retry_if_exception_type(retry_on),
        wait=_WaitRetryAfter(initial_wait, max_wait, requested_wait),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )
    return retrying(func)()
