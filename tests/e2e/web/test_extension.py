"""The browser extension in Chromium: the popup reads the recipient from a page's
scheduling markup (docs/scheduling-markup.md), or takes a typed email without it; from a
CRM page with markup, the link it makes is booked in another browser and the meeting
lands in the person's Radicale calendar with the invitee as attendee and a Zoom meeting
(the template's conferencing), the CRM's callback
signed so that pycronofy accepts it."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycronofy
import pytest
import requests
from playwright.sync_api import expect

from syncd.conferencing.worker import ManagedEventWorker
from syncd.identity.accounts import create_account_with_password
from syncd.notify.delivery import deliver_due
from syncd.scheduling.personal import TemplateFields, create_template
from syncd.store.db import session_scope
from syncd.store.managed import create_conferencing_profile
from syncd.store.personal_links import add_extension_token, revoke_extension_token
from syncd.store.profiles import create_profile, list_calendars
from syncd.store.tenants import create_application, find_account
from syncd.sync.run import SyncContext, sync_profile
from tests.emulators.zoom import ZoomEmulator
from tests.support.browser import PASSWORD, WebAccount, WebWorld, live_web, sign_in
from tests.support.extension import LoadedExtension, crm_page, extension
from tests.support.radicale import CalDAVAccount
from tests.support.webhook_receiver import WebhookReceiver

__all__ = ["crm_page", "extension"]  # the fixtures, from tests/support/extension.py

CANDIDATE = {
    "version": 1,
    "recipient": {"email": "cara@example.com", "name": "Cara Candidate"},
    "correlation_id": "crm-42",
    "event": {"summary": "Interview with Acme", "duration_minutes": 30},
    "link_kind": "single_use",
}


def crm_html(markup: str) -> str:
    return f"<!doctype html><title>Candidate</title><h1>Cara Candidate</h1>{markup}"


def json_markup(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f'<script type="application/vnd.syncd.scheduling+json">{text}</script>'


def open_popup(extension: LoadedExtension, url: str) -> Any:
    page = extension.context.new_page()
    page.goto(url)
    return extension.popup_for(page)


def test_the_popup_shows_the_recipient_from_the_pages_json_markup(
    extension: LoadedExtension, crm_page: Callable[[str], str]
) -> None:
    popup = open_popup(extension, crm_page(crm_html(json_markup(CANDIDATE))))
    recipient = popup.locator("[data-recipient]")
    expect(recipient).to_contain_text("Cara Candidate")
    expect(recipient).to_contain_text("cara@example.com")
    expect(recipient).to_contain_text("Interview with Acme")
    expect(popup.get_by_label("Recipient email")).to_be_hidden()


def test_the_popup_reads_the_hidden_elements_data_attributes(
    extension: LoadedExtension, crm_page: Callable[[str], str]
) -> None:
    markup = (
        '<div hidden data-syncd-scheduling data-syncd-version="1"'
        ' data-syncd-recipient-email="dan@example.com" data-syncd-recipient-name="Dan Prospect"'
        ' data-syncd-link-kind="reusable"></div>'
    )
    popup = open_popup(extension, crm_page(crm_html(markup)))
    expect(popup.locator("[data-recipient]")).to_contain_text("Dan Prospect")
    expect(popup.locator("[data-recipient]")).to_contain_text("Reusable link")


def test_the_markup_script_is_read_and_never_run(
    extension: LoadedExtension, crm_page: Callable[[str], str]
) -> None:
    page = extension.context.new_page()
    page.goto(crm_page(crm_html(json_markup(CANDIDATE))))
    page.evaluate("window.ranMarkup = false")
    popup = extension.popup_for(page)
    expect(popup.locator("[data-recipient]")).to_contain_text("cara@example.com")
    assert page.evaluate("window.ranMarkup") is False


def test_malformed_markup_is_ignored_with_a_note_and_an_email_field(
    extension: LoadedExtension, crm_page: Callable[[str], str]
) -> None:
    popup = open_popup(extension, crm_page(crm_html(json_markup('{"version": 1, "recipient":'))))
    expect(popup.locator("[data-note]")).to_contain_text("not valid JSON")
    expect(popup.locator("[data-recipient]")).to_be_hidden()
    expect(popup.get_by_label("Recipient email")).to_be_visible()


def test_without_markup_the_popup_asks_for_an_email(
    extension: LoadedExtension, crm_page: Callable[[str], str]
) -> None:
    popup = open_popup(extension, crm_page(crm_html("<p>No markup here.</p>")))
    expect(popup.get_by_label("Recipient email")).to_be_visible()
    expect(popup.locator("[data-note]")).to_be_hidden()


def test_the_options_are_kept_and_the_popup_stops_asking_for_them(
    extension: LoadedExtension, crm_page: Callable[[str], str]
) -> None:
    url = crm_page(crm_html(json_markup(CANDIDATE)))
    expect(open_popup(extension, url).locator("[data-setup]")).to_be_visible()
    extension.configure("http://127.0.0.1:9/", "not-a-real-token")
    popup = open_popup(extension, url)
    expect(popup.locator("[data-setup]")).to_be_hidden()
    expect(popup.locator("[data-problem]")).to_contain_text("Cannot reach http://127.0.0.1:9")


# --- from the CRM page to a booked meeting -------------------------------------------


@dataclass
class Host:
    """The person making links: an account with a Radicale calendar, one link template
    and an extension token, in an application whose client_secret pycronofy uses."""

    web: WebWorld
    account_id: str
    application_id: str
    client_secret: str
    template_id: str
    token_id: str
    token: str


def host(web: WebWorld, calendar: CalDAVAccount, callback_url: str, zoom: ZoomEmulator) -> Host:
    with session_scope(web.engine) as session:
        created = create_application(session, web.box, "acme-crm")
        account = create_account_with_password(
            session,
            created.application.id,
            "pat@example.com",
            PASSWORD,
            name="Pat",
            timezone="Etc/UTC",
            now=dt.datetime.now(dt.UTC),
        )
        profile = create_profile(
            session,
            web.box,
            account,
            "caldav",
            calendar.user,
            {**calendar.credentials, "email": "pat@example.com"},  # the organizer
        )
        profile_id = profile.id
        meetings = create_conferencing_profile(
            session, web.box, account, "zoom", "pat@zoom", zoom.issue_grant()
        )
        meetings_id = meetings.id
    context = SyncContext(web.engine, web.settings, web.box, worker_id="test")
    assert sync_profile(context, profile_id).outcome == "ok"
    with session_scope(web.engine) as session:
        account = find_account(session, account.id)
        (work,) = list_calendars(session, [profile_id])
        template = create_template(
            session,
            web.settings,
            account,
            TemplateFields(
                name="Intro call",
                duration_minutes=30,
                target_calendar_id=work.id,
                use_working_hours=False,
                minimum_notice_minutes=60,
                callback_url=callback_url,
                conferencing=meetings_id,
            ),
        )
        row, token = add_extension_token(session, account.id, "laptop")
        return Host(
            web,
            account.id,
            account.application_id,
            created.client_secret,
            template.id,
            row.id,
            token,
        )


def token_from_your_profile(extension: LoadedExtension, pat: Host) -> str:
    """Sign in (in the browser with the extension) and make a token on Extension tokens."""
    page = extension.context.new_page()
    account = WebAccount(pat.account_id, "pat@example.com", PASSWORD, pat.application_id, "")
    sign_in(page, pat.web, account)
    page.get_by_role("link", name="Extension tokens").click()
    page.get_by_label("Name").fill("This browser")
    page.get_by_role("button", name="Make a token").click()
    token: str = page.locator("[data-new-token]").input_value()
    page.close()
    return token


def clipboard_text(extension: LoadedExtension, url: str) -> str:
    """What the browser's clipboard holds, read from a page of ``url``'s origin."""
    origin = re.match(r"https?://[^/]+", url)
    assert origin is not None
    extension.context.grant_permissions(["clipboard-read"], origin=origin.group(0))
    page = extension.context.new_page()
    page.goto(url)
    page.bring_to_front()
    text: str = page.evaluate("navigator.clipboard.readText()")
    return text


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """The CRM's callback endpoint."""
    started = WebhookReceiver()
    started.start()
    yield started
    started.stop()


@pytest.fixture
def zoom(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoomEmulator]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks http
    with ZoomEmulator() as emulator:
        yield emulator


@pytest.fixture
def pat(
    tmp_path: Path,
    secret_key: str,
    caldav_account: CalDAVAccount,
    receiver: WebhookReceiver,
    zoom: ZoomEmulator,
) -> Iterator[Host]:
    """A live syncd with the person making links (Radicale calendar, a Zoom account,
    a template with both, a token)."""
    zoom_settings = {
        "client_id": zoom.client_id,
        "client_secret": zoom.client_secret,
        "api_base_url": zoom.api_base_url,
        "token_url": zoom.token_url,
        "authorize_url": zoom.authorize_url,
    }
    with live_web(
        tmp_path, secret_key, caldav_allowed_hosts=["127.0.0.1"], zoom=zoom_settings
    ) as web:
        yield host(web, caldav_account, receiver.url(), zoom)


def radicale_calendar_text(calendar: CalDAVAccount) -> str:
    answer = requests.get(calendar.calendar_url, auth=(calendar.user, "any-password"), timeout=10)
    answer.raise_for_status()
    return answer.text.replace("\r\n ", "")


def test_from_a_crm_page_to_a_booked_meeting_through_the_extension(
    extension: LoadedExtension,
    crm_page: Callable[[str], str],
    pat: Host,
    caldav_account: CalDAVAccount,
    receiver: WebhookReceiver,
    zoom: ZoomEmulator,
) -> None:
    web = pat.web
    extension.configure(web.server.url, token_from_your_profile(extension, pat))
    crm = crm_page(crm_html(json_markup(CANDIDATE)))
    popup = open_popup(extension, crm)
    expect(popup.locator("[data-recipient]")).to_contain_text("cara@example.com")
    expect(popup.get_by_label("Template")).to_have_value(pat.template_id)
    popup.get_by_role("button", name="Create link").click()
    link = popup.get_by_label("Link")
    expect(link).to_have_value(re.compile(r"/rts/"))
    url = link.input_value()
    expect(popup.locator("[data-copied]")).to_have_text("Copied to the clipboard.")
    assert clipboard_text(extension, crm) == url

    browser = extension.other_browser()
    try:
        page = browser.new_context(timezone_id="Europe/Paris").new_page()
        page.goto(url)
        expect(page.get_by_label("Your email")).to_have_value("cara@example.com")
        expect(page.get_by_label("Your name")).to_have_value("Cara Candidate")
        page.locator("[data-slot]").first.click()
        expect(page.locator("[data-booked]")).to_contain_text("Interview with Acme")
    finally:
        browser.close()

    ManagedEventWorker(web.engine, web.settings, web.box).run_due()
    stored = radicale_calendar_text(caldav_account)
    assert "SUMMARY:Interview with Acme" in stored
    assert re.search(r"^ATTENDEE[^\n]*:mailto:cara@example\.com", stored, re.I | re.M)
    (meeting,) = zoom.meetings.values()
    assert meeting["join_url"] in stored

    assert deliver_due(web.engine, web.settings, web.box, "test") == 1
    (callback,) = receiver.accepted
    client = pycronofy.Client(client_secret=pat.client_secret)
    assert client.hmac_valid(callback.headers["cronofy-hmac-sha256"], callback.body.decode())
    notification = json.loads(callback.body)
    assert notification["notification"]["type"] == "slot_selected"
    assert notification["invitee"]["email"] == "cara@example.com"
    assert notification["invitee"]["tzid"] == "Europe/Paris"
    assert notification["correlation_id"] == "crm-42"

    client.request_handler.base_url = web.server.url
    token = url.rstrip("/").rsplit("/", 1)[1]
    status = client.get_real_time_scheduling_status(token=token)
    assert status["real_time_scheduling"]["status"] == "completed"


def test_without_markup_a_typed_email_makes_the_link(
    extension: LoadedExtension, crm_page: Callable[[str], str], pat: Host
) -> None:
    extension.configure(pat.web.server.url, pat.token)
    popup = open_popup(extension, crm_page(crm_html("<p>No markup here.</p>")))
    expect(popup.get_by_label("Template")).to_have_value(pat.template_id)
    popup.get_by_label("Recipient email").fill("dan@example.com")
    popup.get_by_label("Recipient name").fill("Dan Prospect")
    popup.get_by_role("button", name="Create link").click()
    expect(popup.get_by_label("Link")).to_have_value(re.compile(r"/rts/"))
    url = popup.get_by_label("Link").input_value()
    browser = extension.other_browser()
    try:
        page = browser.new_page()
        page.goto(url)
        expect(page.get_by_label("Your email")).to_have_value("dan@example.com")
    finally:
        browser.close()


def test_a_typed_address_that_is_not_an_email_is_refused_in_the_popup(
    extension: LoadedExtension, crm_page: Callable[[str], str], pat: Host
) -> None:
    extension.configure(pat.web.server.url, pat.token)
    popup = open_popup(extension, crm_page(crm_html("<p>No markup here.</p>")))
    expect(popup.get_by_label("Template")).to_have_value(pat.template_id)
    popup.get_by_label("Recipient email").fill("dan at example")
    popup.get_by_role("button", name="Create link").click()
    expect(popup.locator("[data-problem]")).to_contain_text("not an email address")
    expect(popup.locator("[data-link]")).to_be_hidden()


def test_a_revoked_token_is_refused_and_the_popup_points_to_the_options(
    extension: LoadedExtension, crm_page: Callable[[str], str], pat: Host
) -> None:
    extension.configure(pat.web.server.url, pat.token)
    with session_scope(pat.web.engine) as session:
        revoke_extension_token(session, pat.account_id, pat.token_id)
    popup = open_popup(extension, crm_page(crm_html(json_markup(CANDIDATE))))
    expect(popup.locator("[data-problem]")).to_contain_text("refused the extension token")
    expect(popup.get_by_role("button", name="Create link")).to_be_disabled()
