"""Every page works on a 375 px wide phone (nothing scrolls sideways) and with the
keyboard alone (Tab to a field found by its label, type, Enter to submit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from syncd.identity.accounts import create_invite
from syncd.store.db import session_scope
from tests.e2e.web.test_booking_page import link_url, member
from tests.e2e.web.test_operator import OPERATOR_PASSWORD, disconnected_profile, operator_sign_in
from tests.e2e.web.test_operator import operator_password as operator_password  # fixture
from tests.support.api import ApiWorld
from tests.support.browser import WebWorld, sign_in

PHONE = 375


def fits(page: Any) -> None:
    """Nothing wider than the phone: the page never scrolls sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, f"{page.url} is {width} px wide"


def tab_to(page: Any, target: Any, presses: int = 40) -> None:
    """Press Tab until ``target`` has the focus (as a person would), or fail."""
    for _ in range(presses):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


@pytest.mark.viewport(PHONE, 740)
def test_the_pages_of_the_navigation_fit_a_phone(page: Any, web: WebWorld) -> None:
    sign_in(page, web, web.account())
    links = page.get_by_role("navigation", name="Your account").get_by_role("link")
    targets = [(link.inner_text(), link.get_attribute("href")) for link in links.all()]
    assert len(targets) >= 3
    for name, href in targets:
        page.goto(web.server.url + href)
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        fits(page)


@pytest.mark.viewport(PHONE, 740)
def test_the_sign_in_pages_fit_a_phone(page: Any, web: WebWorld) -> None:
    account = web.account(totp=True)
    page.goto(web.sign_in_url(account))
    fits(page)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    fits(page)
    with session_scope(web.engine) as session:
        token = create_invite(
            session, account.id, now=dt.datetime.now(dt.UTC), lifetime=dt.timedelta(days=1)
        )
    page.goto(web.url(f"/invite/{token}"))
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    fits(page)


@pytest.mark.viewport(PHONE, 740)
def test_the_two_step_set_up_page_fits_a_phone(page: Any, web: WebWorld) -> None:
    sign_in(page, web, web.account())
    page.goto(web.url("/security"))
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_label("Code from your app")).to_be_visible()
    fits(page)


@pytest.mark.viewport(PHONE, 740)
def test_the_operator_pages_fit_a_phone(page: Any, web: WebWorld, operator_password: str) -> None:
    account, _ = disconnected_profile(web)  # a long reconnect link to wrap
    long_name = "a.calendar.address.with.no.place.to.break@calendars.example.com"
    ApiWorld(web.engine, web.box).profile(account, name=long_name, sync_status="disconnected")
    page.goto(web.url("/operator"))
    fits(page)
    operator_sign_in(page, web, operator_password)
    expect(page.get_by_role("heading", name="Operator view")).to_be_visible()
    fits(page)


@pytest.mark.viewport(PHONE, 740)
def test_the_booking_page_fits_a_phone(page: Any, web: WebWorld) -> None:
    application_id = web.application()
    page.goto(link_url(web, application_id, [member(web, application_id, "alice@example.com")]))
    expect(page.locator("[data-slot]").first).to_be_visible()
    fits(page)


def test_a_person_signs_in_with_the_keyboard_alone(page: Any, web: WebWorld) -> None:
    account = web.account(totp=True)
    page.goto(web.sign_in_url(account))
    tab_to(page, page.get_by_label("Email"))
    page.keyboard.type(account.email)
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(account.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    tab_to(page, page.get_by_label("Code"))
    page.keyboard.type(account.totp_code())
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your Profile")).to_be_visible()


def test_a_person_saves_their_profile_with_the_keyboard_alone(page: Any, web: WebWorld) -> None:
    sign_in(page, web, web.account())
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    tab_to(page, page.get_by_label("Name"))
    page.keyboard.press("Control+A")
    page.keyboard.type("Pat Keyboard")
    tab_to(page, page.get_by_label("Clock"))
    page.keyboard.press("ArrowDown")  # 24-hour → 12-hour
    tab_to(page, page.get_by_role("button", name="Save profile"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your profile was saved")
    expect(page.get_by_label("Name")).to_have_value("Pat Keyboard")
    expect(page.get_by_label("Clock")).to_have_value("12h")


def test_the_operator_signs_in_with_the_keyboard_alone(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    page.goto(web.url("/operator"))
    tab_to(page, page.get_by_label("Operator password"))
    page.keyboard.type(OPERATOR_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Operator view")).to_be_visible()
