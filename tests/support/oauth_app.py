"""A stand-in for an application using syncd's OAuth flow: a page on 127.0.0.1 that the
browser is sent back to (``redirect_uri``), remembering every query it got, and a
pycronofy client configured for the live syncd, as an application would hold one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pycronofy
from sqlalchemy import Engine

from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.tenants import create_application


@dataclass
class OAuthApp:
    """The application: its registered callback and what came back to it."""

    redirect_uri: str
    client_id: str = ""
    client_secret: str = ""
    application_id: str = ""
    received: list[dict[str, str]] = field(default_factory=list)

    def sdk(self, syncd_url: str) -> pycronofy.Client:
        client = pycronofy.Client(client_id=self.client_id, client_secret=self.client_secret)
        client.request_handler.base_url = syncd_url
        client.app_base_url = syncd_url
        return client


def _handler(app: OAuthApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            parts = urlsplit(self.path)
            if parts.path == urlsplit(app.redirect_uri).path:  # not the browser's favicon
                app.received.append(
                    {key: values[0] for key, values in parse_qs(parts.query).items()}
                )
            body = b"<!doctype html><title>Example app</title><h1>Back at the app</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def oauth_app(engine: Engine, box: SecretBox, name: str = "Example app") -> Iterator[OAuthApp]:
    """The application registered in syncd with its callback as redirect URI."""
    app = OAuthApp(redirect_uri="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(app))
    app.redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/oauth/callback"
    with session_scope(engine) as session:
        created = create_application(session, box, name, [app.redirect_uri])
        app.client_id, app.client_secret = created.client_id, created.client_secret
        app.application_id = created.application.id
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
