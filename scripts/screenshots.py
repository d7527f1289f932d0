#!/usr/bin/env python3
"""Take the screenshots of the hosted pages that README.md and docs/web.md show.

A live syncd on a throw-away SQLite database (the browser tests' ``live_web``), sample
data, and Debian's Chromium driven by Playwright (``/usr/bin/chromium``, no browser
download), exactly as ``tests/e2e/web/`` run them. Writes ``docs/images/*.png``:

    .venv/bin/python scripts/screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from syncd.identity.accounts import create_account_with_password  # noqa: E402
from syncd.identity.operator import set_operator_password  # noqa: E402
from syncd.store.crypto import generate_key  # noqa: E402
from syncd.store.db import session_scope  # noqa: E402
from syncd.store.tenants import issue_access_token  # noqa: E402
from tests.support.api import ApiAccount, ApiWorld  # noqa: E402
from tests.support.browser import CHROMIUM, WebWorld, live_web  # noqa: E402

PASSWORD = "correct horse battery staple"
OPERATOR_PASSWORD = "operator password 1"
DESKTOP = {"width": 1000, "height": 760}
PHONE = {"width": 375, "height": 740}
#: The sample application's registered redirect URI (never visited by the pictures).
APP_CALLBACK = "https://app.example.com/oauth/callback"


def sample_data(web: WebWorld) -> tuple[str, str]:
    """Ada (active Google, disconnected CalDAV), Grace (pending): the application's id
    and client_id."""
    world = ApiWorld(web.engine, web.box)
    application = world.application("Acme Scheduling", [APP_CALLBACK])
    now = dt.datetime.now(dt.UTC)
    people = [("ada@example.com", "Ada Lovelace"), ("grace@example.com", "Grace Hopper")]
    accounts = []
    with session_scope(web.engine) as session:
        for email, name in people:
            account = create_account_with_password(
                session, application.id, email, PASSWORD, name=name,
                timezone="Europe/London", now=now,
            )  # fmt: skip
            token = issue_access_token(session, account.id)
            accounts.append(ApiAccount(account.id, token, application.id))
        set_operator_password(session, OPERATOR_PASSWORD, now)
    ada, grace = accounts
    google = world.profile(ada, name="ada@example.com", last_success_at=now)
    world.set_profile(google, status_reason="synced")
    caldav = world.profile(
        ada, name="ada@fastmail.com", provider="caldav", last_success_at=now - dt.timedelta(days=2)
    )
    world.set_profile(
        caldav,
        sync_status="disconnected",
        status_reason="the server refused the password (HTTP 401)",
    )
    world.profile(grace, name="grace@example.com", sync_status="pending", initial_sync_done=False)
    return application.id, application.client_id


def sign_in(page: Any, web: WebWorld, application_id: str, email: str) -> None:
    page.goto(web.url(f"/sign-in?app={application_id}"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your Profile").wait_for()


def shoot(
    browser: Any, web: WebWorld, out: Path, application_id: str, client_id: str
) -> list[Path]:
    email = "ada@example.com"
    written = []
    for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        context = browser.new_context(viewport=viewport, timezone_id="Europe/Paris")
        page = context.new_page()
        page.goto(web.url(f"/sign-in?app={application_id}"))
        if not suffix:
            written.append(out / "sign-in.png")
            page.screenshot(path=str(written[-1]))
        sign_in(page, web, application_id, email)
        written.append(out / f"your-profile{suffix}.png")
        page.screenshot(path=str(written[-1]), full_page=True)
        if not suffix:
            page.goto(web.url("/calendars"))
            written.append(out / "calendar-services.png")
            page.screenshot(path=str(written[-1]), full_page=True)
            query = urlencode(
                {
                    "response_type": "code",
                    "client_id": client_id,
                    "redirect_uri": APP_CALLBACK,
                    "scope": "read_account read_events create_event",
                    "state": "example",
                }
            )
            page.goto(f"{web.server.url}/oauth/authorize?{query}")
            written.append(out / "authorize.png")
            page.screenshot(path=str(written[-1]), full_page=True)
        context.close()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(web.url("/operator"))
    page.get_by_label("Operator password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Operator view").wait_for()
    written.append(out / "operator-view.png")
    page.screenshot(path=str(written[-1]), full_page=True)
    context.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 3
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="syncd-shots-") as folder,
        live_web(Path(folder), generate_key()) as web,
        sync_playwright() as playwright,
    ):
        application_id, client_id = sample_data(web)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            for path in shoot(browser, web, args.out, application_id, client_id):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
