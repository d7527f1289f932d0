"""ApiServer: uvicorn in a background thread, on a port it reports."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from syncd.api.server import ApiServer
from syncd.config import Settings


def test_port_zero_binds_a_free_port_reported_in_url(settings: Settings, engine: Engine) -> None:
    with ApiServer(settings, engine, host="127.0.0.1", port=0) as server:
        assert server.port != 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}


def test_stop_closes_the_port(settings: Settings, engine: Engine) -> None:
    server = ApiServer(settings, engine, host="127.0.0.1", port=0)
    server.start()
    url = server.url
    server.stop()
    try:
        httpx.get(f"{url}/healthz", timeout=2)
    except httpx.ConnectError:
        return
    raise AssertionError("the server still answers after stop()")


def test_settings_give_the_default_host_and_port(settings: Settings, engine: Engine) -> None:
    configured = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": 0})
    with ApiServer(configured, engine) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{server.url}/v1/calendars").status_code == 401
