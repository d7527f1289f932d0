"""What a test injects into an emulator, and what it reads back: faults and the request log.

Every emulator (Google, Graph, Zoom/GoTo, the fault-injecting proxy) queues the same
:class:`Fault` values, consumes them one per request in order (optionally only for
requests whose path starts with a prefix), and logs each request it receives as a
:class:`RecordedRequest`. Only how a fault is *rendered* is the provider's own: each
emulator writes its error body in its provider's published shape, and names the default
error reason through a :class:`Fault` subclass (``tests.emulators.google.Fault``, …).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


@dataclass(frozen=True)
class Fault:
    """One misbehaviour an emulator performs instead of (or before) answering a request.

    ``kind`` is one of:

    * ``"status"``: answer ``status`` without doing the work, with ``body`` (JSON) when
      given, else the provider's own error body naming ``reason``; ``Retry-After`` when
      ``retry_after`` is set, plus ``headers``;
    * ``"delay"``: answer normally, but only after ``seconds`` (to trip client timeouts);
    * ``"drop"``: close the socket without a byte of response (a connection reset);
    * ``"malformed_json"``: a 200 whose JSON body is cut short;
    * ``"malformed_body"``: the real answer's status with the first half of its body only.

    ``Fault(status, body, headers)`` is a canned answer, as the Zoom and GoTo tests write it.
    """

    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "status"
    reason: str = ""
    retry_after: str | None = None
    seconds: float = 0.0

    #: The provider's error reason for a status fault that names none, and for a 429.
    default_reason: ClassVar[str] = ""
    rate_limit_reason: ClassVar[str] = ""

    @classmethod
    def http_status(
        cls, status: int, reason: str | None = None, retry_after: float | str | None = None
    ) -> Self:
        """Answer ``status`` (an error body naming ``reason`` where the provider has one)."""
        return cls(
            kind="status",
            status=status,
            reason=cls.default_reason if reason is None else reason,
            retry_after=None if retry_after is None else str(retry_after),
        )

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = 1) -> Self:
        """429 with a Retry-After header, named as the provider names throttling."""
        return cls.http_status(429, cls.rate_limit_reason, retry_after)

    @classmethod
    def delay(cls, seconds: float) -> Self:
        """Answer normally, but only after ``seconds`` (to trip client timeouts)."""
        return cls(kind="delay", seconds=seconds)

    @classmethod
    def drop_connection(cls) -> Self:
        """Close the socket without sending a single byte of response."""
        return cls(kind="drop")

    @classmethod
    def malformed_json(cls) -> Self:
        """A 200 whose body is truncated JSON."""
        return cls(kind="malformed_json")

    @classmethod
    def malformed_body(cls) -> Self:
        """The upstream status with the first half of its body only."""
        return cls(kind="malformed_body")

    def answer_headers(self) -> dict[str, str]:
        """The headers a status fault answers with (``Retry-After`` first, when set)."""
        extra = {"Retry-After": self.retry_after} if self.retry_after else {}
        return {**extra, **self.headers}


@dataclass(frozen=True)
class RecordedRequest:
    """What tests can assert on: one request as the emulator received it.

    Each emulator fills in what it records: the Google emulator the query, Graph's also
    the headers, the OAuth emulators (Zoom, GoTo) the JSON body, the proxy none of them.
    """

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FaultQueue:
    """Faults waiting for requests: each consumed by the first request its prefix matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: deque[tuple[Fault, str]] = deque()

    def add(self, fault: Fault, times: int = 1, path_prefix: str = "") -> None:
        """Misbehave on the next ``times`` requests whose path starts with ``path_prefix``."""
        with self._lock:
            self._queued.extend([(fault, path_prefix)] * times)

    def clear(self) -> None:
        """The outage is over: forget every fault still queued."""
        with self._lock:
            self._queued.clear()

    def take(self, path: str) -> Fault | None:
        """The first queued fault for ``path``, removed from the queue (None: behave)."""
        with self._lock:
            for index, (fault, prefix) in enumerate(self._queued):
                if path.startswith(prefix):
                    del self._queued[index]
                    return fault
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._queued)


def requests_matching(
    requests: list[RecordedRequest],
    method: str,
    *,
    suffix: str | None = None,
    prefix: str | None = None,
) -> list[RecordedRequest]:
    """The logged requests with this method whose path ends with ``suffix`` / starts with
    ``prefix`` (a copy, safe to keep while the emulator goes on logging)."""
    return [
        r
        for r in list(requests)
        if r.method == method
        and (suffix is None or r.path.endswith(suffix))
        and (prefix is None or r.path.startswith(prefix))
    ]
