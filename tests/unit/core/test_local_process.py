"""A local server counts as started only once the socket answering is its own.

A port picked free can be taken by another program (another test worker's server)
before the server binds it; the readiness poll then gets that program's answer.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from syncd.errors import ServiceUnavailableError
from syncd.local_process import PortTaken, free_port, stop_process, wait_until_answering
from syncd.radicale_server import RadicaleServer


class _Answering(BaseHTTPRequestHandler):
    def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def other_program() -> Iterator[int]:
    """Another program listening on a port: yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _spawn(*arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *arguments], stdin=subprocess.DEVNULL)


def test_an_answer_from_another_programs_socket_is_port_taken(
    other_program: int, tmp_path: Path
) -> None:
    idle = _spawn("-c", "import time; time.sleep(60)")
    try:
        with pytest.raises(PortTaken, match=f"127.0.0.1:{other_program}"):
            wait_until_answering(
                idle, f"http://127.0.0.1:{other_program}", "idle", tmp_path / "log", other_program,
                timeout=3,
            )  # fmt: skip
    finally:
        stop_process(idle)


@pytest.mark.parametrize(
    "bind_error",
    [
        "OSError: [Errno 98] Address already in use",
        "OSError: [Errno 98] error while attempting to bind on address "
        "('127.0.0.1', 39077): address already in use",
    ],
    ids=["python", "aiohttp"],
)
def test_a_server_that_exits_because_its_port_is_taken_is_port_taken(
    bind_error: str, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    log.write_text(f"Listening on 127.0.0.1:39077\n{bind_error}\n")
    exited = _spawn("-c", "raise SystemExit(1)")
    exited.wait()
    with pytest.raises(PortTaken, match="(?i)address already in use"):
        wait_until_answering(exited, "http://127.0.0.1:9", "server", log, 9, timeout=3)


def test_a_server_that_exits_for_another_reason_is_unavailable_not_port_taken(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    log.write_text("PermissionError: [Errno 13] Permission denied: '/data'\n")
    exited = _spawn("-c", "raise SystemExit(1)")
    exited.wait()
    with pytest.raises(ServiceUnavailableError, match="Permission denied") as raised:
        wait_until_answering(exited, "http://127.0.0.1:9", "server", log, 9, timeout=3)
    assert not isinstance(raised.value, PortTaken)


def test_a_server_answering_from_its_own_socket_is_started(tmp_path: Path) -> None:
    port = free_port()
    server = _spawn("-m", "http.server", str(port), "--bind", "127.0.0.1")
    try:
        wait_until_answering(
            server, f"http://127.0.0.1:{port}", "http.server", tmp_path / "log", port
        )
    finally:
        stop_process(server)


def test_radicale_moves_to_another_port_when_its_picked_one_is_taken(
    other_program: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = iter([other_program, free_port()])
    monkeypatch.setattr("syncd.radicale_server.free_port", lambda: next(picks))
    with RadicaleServer(tmp_path / "storage") as radicale:
        assert radicale.port != other_program
        assert requests.request("OPTIONS", radicale.url + "/", timeout=5).ok


def test_radicale_on_a_port_it_was_given_refuses_when_the_port_is_taken(
    other_program: int, tmp_path: Path
) -> None:
    with pytest.raises(PortTaken, match=f"127.0.0.1:{other_program}"):
        RadicaleServer(tmp_path / "storage", port=other_program).start()
