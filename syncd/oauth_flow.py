"""The operator side of an OAuth authorization-code grant, run from the admin CLI.

Prints the provider's authorization URL, waits for the browser to come back to the
redirect URI on 127.0.0.1, checks ``state`` and trades the code for credentials.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from providers.base import AuthRevoked, OAuthCalendarProvider, OAuthClient, ProviderEndpoints
from syncd.errors import AuthorizationError


class _CallbackServer(HTTPServer):
    result: dict[str, str]
    done: threading.Event


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        query = {key: values[0] for key, values in parse_qs(urlparse(self.path).query).items()}
        if "code" not in query and "error" not in query:
            self.send_response(404)
            self.end_headers()
            return
        self.server.result = query
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        message = "syncd: authorization received, you can close this window.\n"
        if "error" in query:
            message = f"syncd: authorization failed: {query['error']}\n"
        self.wfile.write(message.encode())
        self.server.done.set()

    def log_message(self, format: str, *args: Any) -> None:  # keep codes out of the logs
        return


def authorize_interactively(
    provider: type[OAuthCalendarProvider],
    oauth_client: OAuthClient,
    endpoints: ProviderEndpoints,
    announce: Any = print,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run the authorization-code flow; returns credentials to store."""
    redirect = urlparse(oauth_client.redirect_uri)
    if redirect.hostname not in ("127.0.0.1", "localhost"):
        raise AuthorizationError(
            f"redirect_uri {oauth_client.redirect_uri} is not on 127.0.0.1; the CLI can only "
            "catch redirects locally (or import a grant with --refresh-token)"
        )
    state = secrets.token_urlsafe(16)
    server = _CallbackServer((redirect.hostname, redirect.port or 80), _CallbackHandler)
    server.result = {}
    server.done = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        announce(provider.authorization_url(oauth_client, endpoints, state))
        if not server.done.wait(timeout):
            raise AuthorizationError("timed out waiting for the authorization redirect")
    finally:
        server.shutdown()
        server.server_close()
    result = server.result
    if result.get("state") != state:
        raise AuthorizationError("the redirect's state does not match: refusing the code")
    if "error" in result:
        raise AuthorizationError(f"the provider refused: {result['error']}")
    try:
        return provider.exchange_code(oauth_client, endpoints, result["code"])
    except AuthRevoked as error:
        raise AuthorizationError(f"the provider refused the code: {error}") from None
