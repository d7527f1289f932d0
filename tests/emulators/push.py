"""Outgoing push notifications for the emulators: what Google and Graph POST to a receiver.

Providers deliver notifications asynchronously, after the change that caused them has
committed, from their own machinery. ``NotificationSender`` models that: emulators queue
a request and one background thread sends it, so an emulator never holds its own lock
while the receiver (which may call the emulator back to sync) is working.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Hosts a notification may reach over plain http. Google and Graph require https; the
#: emulators relax that for loopback so tests need no certificates on the receiver side.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def acceptable_callback(url: str) -> bool:
    """https anywhere, or http on loopback (the emulators' only relaxation of the rule)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


@dataclass(frozen=True)
class Delivery:
    """One notification as sent, with the receiver's answer (``status`` 0: no answer)."""

    url: str
    headers: dict[str, str]
    body: bytes
    status: int
    sent_at: float
    reply: bytes = b""


@dataclass
class _Outgoing:
    url: str
    headers: dict[str, str]
    body: bytes
    queued_at: float = field(default_factory=time.monotonic)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(
    url: str, headers: dict[str, str], body: bytes, timeout: float = 10.0
) -> tuple[int, bytes, dict[str, str]]:
    """One POST straight to ``url`` (never through an environment proxy)."""
    return request("POST", url, headers, body, timeout)


def request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float = 10.0
) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of one request; status 0 when nothing answered."""
    outgoing = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with _OPENER.open(outgoing, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers.items())
    except (OSError, ValueError):
        return 0, b"", {}


class NotificationSender:
    """A queue of notifications and the one thread that delivers them, in order."""

    def __init__(self, name: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[_Outgoing | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name=f"{name}-push", daemon=True)
        self._thread.start()

    def send(self, url: str, headers: dict[str, str], body: bytes = b"") -> None:
        self._idle.clear()
        self._queue.put(_Outgoing(url, headers, body))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far has been delivered (or given up on)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            status, reply, _ = post(item.url, item.headers, item.body, self.timeout)
            with self._lock:
                self.deliveries.append(
                    Delivery(item.url, item.headers, item.body, status, time.time(), reply)
                )
            if self._queue.empty():
                self._idle.set()
