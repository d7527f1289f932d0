"""Real-browser tests: Playwright driving Debian's Chromium against a live syncd.

- ``browser``: one headless Chromium per test session, launched from
  ``/usr/bin/chromium`` (``executable_path``; Playwright never downloads a browser here;
  ``.ci/run`` installs the Debian package when it is missing);
- ``web``: a live syncd (the API app with its pages) on 127.0.0.1 over a fresh SQLite
  database, with helpers that create applications and accounts through the identity
  functions;
- ``page``: a new browser context (its own cookies) and page per test, 1280×800 by
  default (``@pytest.mark.viewport(375, 740)`` for a phone). When the test fails, a
  screenshot of the page is saved to ``tmp/artifacts/<test>.png`` (or
  ``$SYNCD_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine

from syncd.api.app import create_app
from syncd.api.server import ApiServer
from syncd.config import Settings, load_settings
from syncd.identity.accounts import create_account_with_password
from syncd.identity.totp import begin_totp_setup, confirm_totp_setup
from syncd.store.crypto import SecretBox
from syncd.store.db import make_engine, session_scope, upgrade_schema
from syncd.store.profiles import create_profile, list_calendars
from syncd.store.tenants import create_application, find_account, issue_access_token
from syncd.sync.run import SyncContext, sync_profile
from tests.support.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SYNCD_TEST_ARTIFACTS", REPO_ROOT / "tmp" / "artifacts"))
PASSWORD = "correct horse battery staple"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item, so ``page`` knows the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Any]:
    """The one sync Playwright of the test session: a second ``sync_playwright()`` in
    the same thread fails ("inside the asyncio loop"), so every browser comes from it."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only browser tests)

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session: Any) -> Iterator[Any]:
    chromium = playwright_session.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield chromium
    chromium.close()


@dataclass
class WebAccount:
    id: str
    email: str
    password: str
    application_id: str
    token: str
    totp_secret: str | None = None

    def totp_code(self, at: dt.datetime | None = None) -> str:
        assert self.totp_secret is not None
        return pyotp.TOTP(self.totp_secret).at(at or dt.datetime.now(dt.UTC))


class WebWorld:
    """A live syncd with its pages, and the data its browser tests need."""

    def __init__(self, settings: Settings, engine: Engine, server: ApiServer) -> None:
        self.settings = settings
        self.engine = engine
        self.server = server
        self.box = SecretBox(settings.secret_keys)
        self._numbers = itertools.count(1)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT/my``: the pages' root."""
        return self.server.url + self.settings.web.prefix

    def url(self, path: str) -> str:
        return self.base + path

    def application(self, name: str | None = None) -> str:
        with session_scope(self.engine) as session:
            created = create_application(session, self.box, name or f"app-{next(self._numbers)}")
            return created.application.id

    def account(
        self,
        application_id: str | None = None,
        email: str | None = None,
        *,
        totp: bool = False,
        timezone: str = "Etc/UTC",
    ) -> WebAccount:
        """An account with ``PASSWORD`` (and TOTP turned on when ``totp``)."""
        application_id = application_id or self.application()
        email = email or f"person{next(self._numbers)}@example.com"
        now = dt.datetime.now(dt.UTC)
        with session_scope(self.engine) as session:
            account = create_account_with_password(
                session, application_id, email, PASSWORD, name="Pat", timezone=timezone, now=now
            )
            token = issue_access_token(session, account.id)
            secret = None
            if totp:
                setup = begin_totp_setup(session, self.box, account)
                secret = setup.secret
                # Confirmed with the previous step's code, so the test's first code is new.
                earlier = now - dt.timedelta(seconds=30)
                confirm_totp_setup(
                    session, self.box, account.id, pyotp.TOTP(secret).at(earlier), earlier
                )
        return WebAccount(account.id, email, PASSWORD, application_id, token, secret)

    def google_profile(
        self, account: WebAccount, emulator: Any, calendar: str = "pat@example.com"
    ) -> tuple[str, str]:
        """A Google profile on the emulator (settings must point ``google`` at it),
        synced once: its ``pro_`` id and the ``cal_`` id of ``calendar``."""
        emulator.add_calendar(calendar, primary=True)
        with session_scope(self.engine) as session:
            profile = create_profile(
                session,
                self.box,
                find_account(session, account.id),
                "google",
                calendar,
                emulator.issue_grant(),
            )
            profile_id = profile.id
        context = SyncContext(self.engine, self.settings, self.box, worker_id="test")
        assert sync_profile(context, profile_id).outcome == "ok"
        with session_scope(self.engine) as session:
            (calendar_row,) = [
                row
                for row in list_calendars(session, [profile_id])
                if row.provider_calendar_id == calendar
            ]
            return profile_id, calendar_row.id

    def sign_in_url(self, account: WebAccount) -> str:
        return self.url(f"/sign-in?app={account.application_id}")


@contextmanager
def live_web(folder: Path, secret_key: str, **overrides: Any) -> Iterator[WebWorld]:
    """A live syncd over a new SQLite database in ``folder``; ``overrides`` are settings
    (e.g. ``zoom=…`` pointing at an emulator)."""
    web_settings = {"cookie_secure": False, "signin_max_failures_per_account": 3}
    web_settings.update(overrides.pop("web", {}))
    settings = load_settings(
        database_url=f"sqlite:///{folder / 'web.db'}",
        secret_keys=[secret_key],
        webhook_allowed_hosts=["127.0.0.1"],
        web=web_settings,
        **overrides,
    )
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    server = ApiServer(settings, host="127.0.0.1", port=0, app=create_app(settings, engine))
    server.start()
    try:
        yield WebWorld(settings, engine, server)
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture
def web(tmp_path: Path, secret_key: str) -> Iterator[WebWorld]:
    with live_web(tmp_path, secret_key) as world:
        yield world


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    marker = request.node.get_closest_marker("viewport")
    width, height = marker.args if marker else (1280, 800)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: _console(problems, message))
    page.problems = problems  # CSP violations and script errors, for the tests to assert on
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()


def _console(problems: list[str], message: Any) -> None:
    if message.type == "error":
        problems.append(message.text)


def sign_in(page: Any, web: WebWorld, account: WebAccount, password: str | None = None) -> None:
    """Sign in through the pages (the TOTP step too when the account has TOTP)."""
    page.goto(web.sign_in_url(account))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(password or account.password)
    page.get_by_role("button", name="Sign in").click()
    if account.totp_secret is not None:
        page.get_by_label("Code").fill(account.totp_code())
        page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Your Profile").wait_for()
