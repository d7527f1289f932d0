"""Request bodies: authenticated before they are read, capped while they stream in, and
JSON nesting and array lengths bounded."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from syncd.api.app import create_app
from syncd.api.limits import json_shape_problem
from syncd.api.server import ApiServer
from syncd.config import Settings
from tests.support.api import ApiWorld

MB = 1024 * 1024
CHUNK = 64 * 1024


class Upload:
    """An ASGI ``receive`` that streams ``total`` bytes in 64 KiB chunks, counting what
    the app pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.pulled >= self.total:
            return {"type": "http.disconnect"}
        size = min(CHUNK, self.total - self.pulled)
        self.pulled += size
        return {"type": "http.request", "body": b" " * size, "more_body": self.pulled < self.total}


def _call(app: FastAPI, headers: dict[str, str], receive: Upload) -> tuple[int, dict[str, Any]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/availability",
        "raw_path": b"/v1/availability",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # A thread of its own: Playwright's sync API (the browser tests) may leave a running
    # event loop in this one, and asyncio.run refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as runner:
        runner.submit(asyncio.run, app(scope, receive, send)).result()  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def api_key(api_world: ApiWorld) -> str:
    return api_world.application("acme").api_key


def test_an_anonymous_huge_post_is_refused_401_without_reading_the_body(app: FastAPI) -> None:
    upload = Upload(300 * MB)
    status, body = _call(app, {"content-length": str(300 * MB)}, upload)
    assert status == 401 and body["error"] == "unauthorized"
    assert upload.calls == 0


def test_a_bad_key_is_refused_before_the_body_too(app: FastAPI) -> None:
    upload = Upload(300 * MB)
    headers = {"authorization": "Bearer sk_nope", "transfer-encoding": "chunked"}
    status, _ = _call(app, headers, upload)
    assert status == 401 and upload.calls == 0


def test_a_declared_length_over_the_limit_is_413_unread(app: FastAPI, api_key: str) -> None:
    upload = Upload(50 * MB)
    headers = {"authorization": f"Bearer {api_key}", "content-length": str(50 * MB)}
    status, body = _call(app, headers, upload)
    assert status == 413 and body["error"] == "payload_too_large"
    assert upload.calls == 0


def test_a_streamed_body_is_refused_once_past_the_limit_never_buffered(
    app: FastAPI, api_key: str
) -> None:
    """50 MB chunked: the app pulls about 1 MB and allocates about that much."""
    upload = Upload(50 * MB)
    headers = {
        "authorization": f"Bearer {api_key}",
        "transfer-encoding": "chunked",
        "content-type": "application/json",
    }
    tracemalloc.start()
    try:
        status, body = _call(app, headers, upload)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and body["error"] == "payload_too_large"
    assert upload.pulled <= MB + 2 * CHUNK
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB while refusing a 50 MB upload"


def test_the_limit_is_a_setting(settings: Settings, engine: Engine, api_key: str) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    with TestClient(create_app(small, engine), raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {api_key}"}
        refused = client.post("/v1/availability", headers=auth, content=b"{" + b" " * 3000 + b"}")
        assert refused.status_code == 413
        allowed = client.post("/v1/availability", headers=auth, json={})
        assert allowed.status_code == 422  # read and parsed: the route's own validation


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_over_a_real_socket_a_50_mb_stream_gets_413_after_about_1_mb(
    api_server: ApiServer, api_key: str
) -> None:
    """A client streaming 50 MB (chunked) gets its 413 long before it is done; what it
    managed to send stays within the limit plus the sockets' buffers, and the process
    (server and client alike) grows by far less than the upload."""
    rss_before = _rss_bytes()
    sock = socket.create_connection((api_server.host, api_server.port), timeout=10)
    head = (
        f"POST /v1/availability HTTP/1.1\r\nHost: {api_server.host}\r\n"
        f"Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    sock.sendall(head.encode())
    chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    sent = 0
    reply = b""
    deadline = time.monotonic() + 30
    sock.setblocking(False)
    try:
        while sent < 50 * MB and b"\r\n\r\n" not in reply and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
            elif writable:
                try:
                    sent += sock.send(chunk)
                except (BlockingIOError, InterruptedError):
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
        sock.setblocking(True)
        sock.settimeout(5)
        while b"\r\n\r\n" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    growth = _rss_bytes() - rss_before
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 20 * MB, f"the client sent {sent / MB:.1f} MB before the 413"
    assert growth < 20 * MB, f"RSS grew {growth / MB:.1f} MB while refusing 50 MB"
    print(f"sent {sent / MB:.2f} MB before the 413; RSS grew {growth / MB:.2f} MB")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("content_type", ["application/json", None])
@pytest.mark.parametrize("depth", [40, 200_000])
def test_deep_json_is_422_in_cronofy_shape(
    client: TestClient, api_key: str, depth: int, content_type: str | None
) -> None:
    """Also without a Content-Type, which FastAPI parses as JSON all the same."""
    headers = {"Authorization": f"Bearer {api_key}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/v1/availability", headers=headers, content=_nested(depth).encode())
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["body"][0]["key"] == "errors.too_deep"


def test_a_long_json_array_is_422(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/v1/availability",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"participants": [{"members": [{"sub": "x"}]}] * 1001},
    )
    assert response.status_code == 422
    assert response.json()["errors"]["body"][0]["key"] == "errors.too_many"


def test_json_shape_problem_counts_objects_and_arrays() -> None:
    assert json_shape_problem({"a": [{"b": 1}]}, 3, 10) is None
    assert json_shape_problem({"a": [{"b": [1]}]}, 3, 10) is not None
    assert json_shape_problem([1] * 11, 5, 10) is not None
    assert json_shape_problem("x" * 100, 1, 1) is None


def test_a_nul_character_in_a_body_string_is_422_not_a_database_error(
    client: TestClient, api_key: str
) -> None:
    response = client.post(
        "/v1/calendars",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"name": "0", "profile_id": "\u0000"},
    )
    assert response.status_code == 422
    assert response.json()["errors"]["body"][0]["key"] == "errors.invalid"


def test_json_shape_problem_finds_nul_in_values_and_keys() -> None:
    assert json_shape_problem({"a": ["ok", "b\x00"]}, 5, 10) is not None
    assert json_shape_problem({"k\x00": 1}, 5, 10) is not None
    assert json_shape_problem({"a": "fine"}, 5, 10) is None
