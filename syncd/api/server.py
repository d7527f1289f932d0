"""``ApiServer``: uvicorn in a background thread, for ``syncd serve``/``run``/``demo`` and tests.

The listening socket is bound in ``start()`` before uvicorn runs, so ``.url`` is known
(also for port 0, which picks a free port) and nothing races for the port.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from syncd.api.app import create_app
from syncd.config import Settings
from syncd.errors import ServiceUnavailableError

#: Seconds ``start()`` waits for uvicorn to accept connections, and ``stop()`` for it to end.
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 30.0


class ApiServer:
    """Serve the API on ``host:port`` (default: ``settings.api_host``/``api_port``) from a
    daemon thread until ``stop()``. ``app`` defaults to ``create_app(settings, engine)``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        host: str | None = None,
        port: int | None = None,
        app: FastAPI | None = None,
    ) -> None:
        self.app = app if app is not None else create_app(settings, engine)
        self.host = host or settings.api_host
        self.port = settings.api_port if port is None else port
        self._config = uvicorn.Config(
            self.app,
            log_level=settings.log_level.lower(),
            log_config=None,
            lifespan="on",
            access_log=False,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (the bound port, after ``start()``)."""
        if self._socket is None:
            raise RuntimeError("the server is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind, start serving, and return once requests are accepted."""
        if self._thread is not None:
            raise RuntimeError("the server is already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it every small response waits ~40 ms
        # for the peer's delayed ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise ServiceUnavailableError(
                f"cannot listen on {self.host}:{self.port}: {error.strerror or error} "
                "(choose another with --port, or 0 for any free port)"
            ) from None
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="syncd-api", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the API server failed to start (see the log)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the API server did not start within {STARTUP_TIMEOUT} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Finish in-flight requests and stop; safe to call twice."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(SHUTDOWN_TIMEOUT)
            self._thread = None
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
