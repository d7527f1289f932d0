"""The browser extension (``extension/``) loaded unpacked into Debian's Chromium.

- ``extension``: a persistent Chromium context (``--load-extension``, headless=new)
  with the extension's id, its service worker, and helpers to open its pages;
  (``other_browser()`` for a second, plain one), both from the session's one
  Playwright (``playwright_session`` in tests/support/browser.py);
- ``crm_page(html)``: serves one HTML page on 127.0.0.1 (a CRM page carrying markup).

Headless Chromium cannot answer the host-permission prompt the options page raises, so
the fixture loads a copy of the extension whose manifest already grants
``http://127.0.0.1/*`` (what a person allows when saving the options for a local
server): the options page then finds the permission granted, and the popup can read
the test page the way ``activeTab`` lets it read the tab it was opened on.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM
from tests.support.paths import REPO_ROOT

EXTENSION = REPO_ROOT / "extension"
GRANTED = "http://127.0.0.1/*"


@dataclass
class LoadedExtension:
    context: Any
    worker: Any
    id: str
    #: The Playwright that launched it (one per thread: other browsers come from it too).
    playwright: Any

    def other_browser(self) -> Any:
        """A plain Chromium without the extension (the invitee's browser)."""
        return self.playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)

    def url(self, page: str) -> str:
        return f"chrome-extension://{self.id}/{page}"

    def tab_id(self, url: str) -> int:
        """The Chrome tab id of the page at ``url`` opened last."""
        tabs = self.worker.evaluate("chrome.tabs.query({}).then(t => t.map(x => [x.id, x.url]))")
        return max(int(tab) for tab, at in tabs if at == url)

    def popup_for(self, page: Any) -> Any:
        """The popup, opened as a page and pointed at ``page``'s tab."""
        popup = self.context.new_page()
        popup.goto(self.url(f"popup.html?tab={self.tab_id(page.url)}"))
        return popup

    def configure(self, server_url: str, token: str) -> None:
        """Save the server address and token through the options page."""
        options = self.context.new_page()
        options.goto(self.url("options.html"))
        options.get_by_label("syncd server address").fill(server_url)
        options.get_by_label("Extension token").fill(token)
        options.get_by_role("button", name="Save").click()
        options.locator("[data-status]").filter(has_text="Saved.").wait_for()
        options.close()


def _unpacked_copy(folder: Path) -> Path:
    copy = folder / "extension"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("test", "package.json"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["host_permissions"] = [GRANTED]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.fixture
def extension(tmp_path: Path, playwright_session: Any) -> Iterator[LoadedExtension]:
    """The extension in its own persistent context, from the session's one Playwright."""
    unpacked = _unpacked_copy(tmp_path)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    playwright = playwright_session
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            "--headless=new",
            f"--disable-extensions-except={unpacked}",
            f"--load-extension={unpacked}",
        ],
    )
    try:
        worker = _worker(context)
        loaded = LoadedExtension(context, worker, worker.url.split("/")[2], playwright)
        _close_first_options_page(loaded)
        yield loaded
    finally:
        context.close()


def _worker(context: Any) -> Any:
    if context.service_workers:
        return context.service_workers[0]
    return context.wait_for_event("serviceworker", timeout=15_000)


def _close_first_options_page(loaded: LoadedExtension) -> None:
    """The options page opens by itself after installing (background.js): wait for it
    and close it, so it cannot interrupt the test's first navigation."""
    opened = loaded.context.pages or [loaded.context.wait_for_event("page", timeout=15_000)]
    for page in opened:
        page.wait_for_url(loaded.url("options.html"), timeout=15_000)
        page.close()


@pytest.fixture
def crm_page() -> Iterator[Callable[[str], str]]:
    """``crm_page(html)`` → the URL of a page on 127.0.0.1 answering with ``html``."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        path = f"/crm/{len(pages) + 1}"
        pages[path] = html.encode()
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()
