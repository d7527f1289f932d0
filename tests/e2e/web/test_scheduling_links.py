"""Scheduling links in Your Profile, in a real browser: a template, a personalized link
for one recipient (the booking page prefilled with them), booked, listed, disabled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.api import ApiAccount, ApiWorld
from tests.support.browser import WebAccount, WebWorld, sign_in


@pytest.fixture
def person(web: WebWorld) -> WebAccount:
    """An account with one writable calendar, synced just now."""
    account = web.account()
    world = ApiWorld(web.engine, web.box)
    api_account = ApiAccount(account.id, account.token, account.application_id)
    world.profile(api_account, last_success_at=dt.datetime.now(dt.UTC))
    world.calendar(api_account, "Work", primary=True)
    return account


def make_template(page: Any, name: str = "Intro call") -> None:
    page.get_by_role("link", name="Scheduling links").click()
    page.get_by_label("Template name").fill(name)
    page.get_by_label("Duration (minutes)").fill("30")
    page.get_by_label("Only in my working hours").uncheck()
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_contain_text("template was saved")


def make_link(page: Any, email: str, kind: str = "Once (closed after one booking)") -> str:
    page.get_by_label("Recipient's name").fill("Cara Candidate")
    page.get_by_label("Recipient's email").fill(email)
    page.get_by_label("Event summary").fill("Call with Cara")
    page.get_by_label(kind).check()
    page.get_by_role("button", name="Make the link").click()
    expect(page.get_by_role("status")).to_contain_text("The link was made")
    url: str = page.get_by_role("textbox", name=f"Link for {email}").input_value()
    return url


def test_a_personalized_link_opens_the_booking_page_prefilled_and_is_booked_once(
    page: Any, web: WebWorld, person: WebAccount, browser: Any
) -> None:
    sign_in(page, web, person)
    make_template(page)
    url = make_link(page, "cara@example.com")
    card = page.locator("[data-made]")
    expect(card.locator("[data-link-status]")).to_have_text("Open")

    invitee = browser.new_context(timezone_id="Europe/Paris")
    try:
        booking = invitee.new_page()
        booking.goto(url)
        expect(booking.get_by_label("Your name")).to_have_value("Cara Candidate")
        expect(booking.get_by_label("Your email")).to_have_value("cara@example.com")
        booking.locator("[data-slot]").first.click()
        expect(booking.locator("[data-booked]")).to_contain_text("Call with Cara")
    finally:
        invitee.close()

    page.reload()
    expect(page.locator("[data-link]").first.locator("[data-link-status]")).to_have_text("Booked")


def test_a_reusable_link_stays_open_after_a_booking(
    page: Any, web: WebWorld, person: WebAccount, browser: Any
) -> None:
    sign_in(page, web, person)
    make_template(page)
    url = make_link(page, "dan@example.com", kind="Many times")
    invitee = browser.new_context()
    try:
        booking = invitee.new_page()
        booking.goto(url)
        booking.locator("[data-slot]").first.click()
        expect(booking.locator("[data-booked]")).to_be_visible()
    finally:
        invitee.close()
    page.reload()
    expect(page.locator("[data-link]").first.locator("[data-link-status]")).to_have_text("Open")


def test_a_disabled_link_offers_no_times(
    page: Any, web: WebWorld, person: WebAccount, browser: Any
) -> None:
    sign_in(page, web, person)
    make_template(page)
    url = make_link(page, "erin@example.com")
    page.get_by_role("button", name="Disable the link for erin@example.com").click()
    expect(page.get_by_role("status")).to_contain_text("The link was disabled")
    expect(page.locator("[data-link]").first.locator("[data-link-status]")).to_have_text("Disabled")
    visitor = browser.new_context()
    try:
        booking = visitor.new_page()
        booking.goto(url)
        expect(booking.get_by_text("This scheduling link is no longer available")).to_be_visible()
        expect(booking.locator("[data-slot]")).to_have_count(0)
    finally:
        visitor.close()


def test_a_template_whose_duration_is_out_of_range_is_refused_with_the_reason(
    page: Any, web: WebWorld, person: WebAccount
) -> None:
    sign_in(page, web, person)
    page.get_by_role("link", name="Scheduling links").click()
    page.get_by_label("Template name").fill("Marathon")
    page.get_by_label("Duration (minutes)").evaluate("field => field.removeAttribute('max')")
    page.get_by_label("Duration (minutes)").fill("900")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("alert")).to_contain_text("between 5 and 480")
    expect(page.get_by_role("combobox", name="Template", exact=True)).to_have_count(0)


def test_a_deleted_template_leaves_the_list_and_its_links_keep_working(
    page: Any, web: WebWorld, person: WebAccount
) -> None:
    sign_in(page, web, person)
    make_template(page)
    url = make_link(page, "cara@example.com")
    page.get_by_role("button", name="Delete the template Intro call").click()
    expect(page.get_by_role("status")).to_contain_text("template was deleted")
    expect(page.get_by_role("combobox", name="Template", exact=True)).to_have_count(0)
    page.goto(url)
    expect(page.get_by_label("Your email")).to_have_value("cara@example.com")
    expect(page.locator("[data-slot]").first).to_be_visible()
