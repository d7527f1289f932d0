"""Local server subprocesses (Radicale for ``syncd demo``; Radicale and Xandikos in tests).

Starting one on a port picked with :func:`free_port` races with anything else picking
ports meanwhile (another test worker's server, another program): the port can be free
when picked and taken by the time the server binds it. A readiness poll then gets its
answer from the other server while ours fails to bind, so :func:`wait_until_answering`
also checks, where the system lets it (Linux's ``/proc``), that the listening socket is
our process's own, and raises :class:`PortTaken` when it is not.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

from syncd.errors import ServiceUnavailableError

#: How long a starting server may take before we give up on it.
STARTUP_TIMEOUT_SECONDS = 30.0
#: Ports a server that found its picked port taken tries before giving up.
BIND_ATTEMPTS = 3
#: TCP state ``LISTEN`` in ``/proc/net/tcp``.
_LISTEN = "0A"


class PortTaken(ServiceUnavailableError):
    """Something else answers on the port the server was started on."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_on_a_port(start_on: Callable[[int], None], port: int, *, picked: bool) -> None:
    """``start_on(port)``; when the port was picked here (:func:`free_port`) and another
    program took it first (:class:`PortTaken`), again on another picked port, up to
    :data:`BIND_ATTEMPTS` in all. A port the operator gave is not swapped: refused.
    ``start_on`` stops the process it started when it fails."""
    for attempt in range(1, BIND_ATTEMPTS + 1):
        try:
            start_on(port)
            return
        except PortTaken:
            if not picked or attempt == BIND_ATTEMPTS:
                raise
            port = free_port()


def spawn_logged(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a local server process with its output appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    name: str,
    log_path: Path,
    port: int,
    timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> None:
    """Poll ``url`` with OPTIONS until the server answers, and until the socket listening
    on ``port`` is ``process``'s own (:class:`PortTaken` if another program's answered).
    A server that exits or never answers is a :class:`ServiceUnavailableError` carrying
    the end of its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_tail(log_path)
            failure = PortTaken if _bind_refused(tail) else ServiceUnavailableError
            raise failure(f"{name} exited with {process.returncode}: {tail}")
        try:
            requests.request("OPTIONS", url + "/", timeout=1)
        except requests.ConnectionError:
            time.sleep(0.05)
            continue
        if _listens_on(process, port, deadline):
            return
        raise PortTaken(f"another program answers on 127.0.0.1:{port}, where {name} was to listen")
    raise ServiceUnavailableError(f"{name} did not answer on {url}: {log_tail(log_path)}")


def _bind_refused(log: str) -> bool:
    """Whether a server's log says its port was taken. Wordings differ in case: Python's
    own ``[Errno 98] Address already in use`` (Radicale), aiohttp's ``... address already
    in use`` (Xandikos)."""
    return os.strerror(errno.EADDRINUSE).lower() in log.lower()


def _listens_on(process: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    """Whether ``process`` itself holds the listening socket on ``port``: its socket
    inodes against ``/proc/net/tcp``'s LISTEN rows, looked at until ``deadline`` (it may
    still be binding); False once it has exited. Without ``/proc`` there is no telling,
    and the answer is taken as the server's (True)."""
    if not Path("/proc/net/tcp").exists():
        return True
    while time.monotonic() < deadline and process.poll() is None:
        try:
            inodes = {
                link.readlink().name.removeprefix("socket:[").removesuffix("]")
                for link in Path(f"/proc/{process.pid}/fd").iterdir()
            }
            rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:  # a descriptor closed while read: look again
            inodes, rows = set(), []
        for row in rows:
            fields = row.split()
            listening = fields[3] == _LISTEN and int(fields[1].split(":")[1], 16) == port
            if listening and fields[9] in inodes:
                return True
        time.sleep(0.05)
    return False


def log_tail(log_path: Path, characters: int = 2000) -> str:
    """The end of a server's log, for error messages."""
    try:
        return log_path.read_text(errors="replace")[-characters:]
    except OSError:
        return ""


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server process, killing it if it does not stop within 10 s."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
