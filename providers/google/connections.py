"""Keep-alive connections to Google, shared by every adapter of the process.

An adapter is built per sync run, and with an ``httplib2.Http`` of its own every run
opened (and, against Google, TLS-negotiated) a new connection that died with it: a
fleet of profiles paid a handshake per sync. The connections live here instead, in a
small pool: ``httplib2.Http`` is not thread-safe, so a request checks one out for its
duration and puts it back, and sync workers, prefetch threads and the managed-event
writers all reuse the same warm connections. They carry no credentials (each request
wraps its checked-out connection in its own adapter's ``AuthorizedHttp``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httplib2

__all__ = ["ConnectionPool", "shared_connections"]


class ConnectionPool:
    """Idle ``httplib2.Http`` objects by socket timeout; at most ``max_idle`` of each."""

    def __init__(self, max_idle: int = 16) -> None:
        self.max_idle = max_idle
        self._idle: dict[float, list[httplib2.Http]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def checked_out(self, timeout: float) -> Iterator[httplib2.Http]:
        """An ``Http`` used by nobody else until the block ends. After an error its
        connections are closed (a half-read answer must not be reused) and it is dropped."""
        with self._lock:
            idle = self._idle.setdefault(timeout, [])
            http = idle.pop() if idle else None
        if http is None:
            http = httplib2.Http(timeout=timeout)
        try:
            yield http
        except BaseException:
            _close(http)
            raise
        with self._lock:
            idle = self._idle.setdefault(timeout, [])
            if len(idle) < self.max_idle:
                idle.append(http)
                return
        _close(http)

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(idle) for idle in self._idle.values())


def _close(http: httplib2.Http) -> None:
    for connection in list(http.connections.values()):
        connection.close()
    http.connections.clear()


#: The process's pool (adapters of every profile share it).
shared_connections = ConnectionPool()
