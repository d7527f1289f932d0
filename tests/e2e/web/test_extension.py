"""The browser extension in Chromium: the popup reads the recipient from a page's
scheduling markup (docs/scheduling-markup.md), or takes a typed email without it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.support.extension import LoadedExtension, crm_page, extension

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
