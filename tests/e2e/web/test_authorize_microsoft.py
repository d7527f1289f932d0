"""The hosted authorization flow with Microsoft 365 / Outlook.com: the Graph emulator's
authorize endpoint (https, signed by a test CA the adapter trusts; the browser context
accepts it) signs the person in, and the application gets a code for the new profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from providers.microsoft import CA_BUNDLE_ENV
from tests.emulators.graph import DEFAULT_USER, GraphEmulator
from tests.support.browser import ARTIFACTS, PASSWORD, live_web
from tests.support.oauth_app import oauth_app


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphEmulator]:
    with GraphEmulator() as emulator:
        monkeypatch.setenv(CA_BUNDLE_ENV, emulator.ca_bundle)
        emulator.add_user(DEFAULT_USER)
        yield emulator


def test_a_new_user_connects_microsoft_365_and_the_app_exchanges_the_code(
    browser: Any, graph: GraphEmulator, tmp_path: Path, secret_key: str
) -> None:
    microsoft = {
        "client_id": graph.client_id,
        "client_secret": graph.client_secret,
        "api_base_url": graph.api_base_url,
        "token_url": graph.token_url,
        "authorize_url": graph.authorize_url,
    }
    with (
        live_web(tmp_path, secret_key, microsoft=microsoft) as web,
        oauth_app(web.engine, web.box) as app,
    ):
        context = browser.new_context(ignore_https_errors=True)  # the emulator's test CA
        page = context.new_page()
        try:
            client = app.sdk(web.server.url)
            page.goto(
                client.user_auth_link(app.redirect_uri, state="ms", provider_name="office365")
            )
            page.get_by_label("Your email").fill("ms.person@example.com")
            page.get_by_label("New password", exact=True).fill(PASSWORD)
            page.get_by_label("New password again").fill(PASSWORD)
            page.get_by_role("button", name="Create account").click()
            services = page.get_by_role("region", name="Choose your calendar service")
            expect(services.get_by_role("link").first).to_have_text("Microsoft 365 / Outlook.com")
            services.get_by_role("link", name="Microsoft 365 / Outlook.com").click()
            page.wait_for_url(app.redirect_uri + "?*")
            answer = app.received[-1]
            assert answer["state"] == "ms"
            client.get_authorization_from_code(answer["code"], redirect_uri=app.redirect_uri)
            (profile,) = client.userinfo()["cronofy.data"]["profiles"]
            assert profile["profile_name"] == DEFAULT_USER
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "authorize_microsoft.png"), full_page=True)
            raise
        finally:
            context.close()
