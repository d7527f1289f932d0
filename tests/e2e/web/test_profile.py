"""Your Profile in a real browser: the time zone (typed, or the browser's own) is what
``/v1/userinfo`` then says (read with pycronofy, as an application would), and
changing the email asks for the password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pycronofy
import pytest
from playwright.sync_api import expect

from tests.support.browser import WebAccount, WebWorld, sign_in

BROWSER_ZONE = "Asia/Tokyo"


def userinfo(web: WebWorld, account: WebAccount) -> dict[str, Any]:
    client = pycronofy.Client(access_token=account.token)
    client.request_handler.base_url = web.server.url
    info: dict[str, Any] = client.userinfo()
    return info


@pytest.fixture
def tokyo_page(browser: Any) -> Iterator[Any]:
    """A browser whose own time zone is Asia/Tokyo."""
    context = browser.new_context(timezone_id=BROWSER_ZONE)
    page = context.new_page()
    yield page
    context.close()


def test_a_time_zone_typed_on_the_page_is_what_userinfo_says(page: Any, web: WebWorld) -> None:
    account = web.account(timezone="Etc/UTC")
    sign_in(page, web, account)
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile was saved")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
    assert userinfo(web, account)["zoneinfo"] == "Europe/Paris"


def test_the_browsers_own_zone_is_suggested_and_can_be_used(tokyo_page: Any, web: WebWorld) -> None:
    account = web.account(timezone="Etc/UTC")
    sign_in(tokyo_page, web, account)
    expect(tokyo_page.get_by_text(f"Your browser says {BROWSER_ZONE}")).to_be_visible()
    tokyo_page.get_by_role("button", name="Use it").click()
    expect(tokyo_page.get_by_label("Time zone")).to_have_value(BROWSER_ZONE)
    tokyo_page.get_by_role("button", name="Save profile").click()
    expect(tokyo_page.get_by_role("status")).to_contain_text("Your profile was saved")
    assert userinfo(web, account)["zoneinfo"] == BROWSER_ZONE


def test_the_time_zone_list_offers_every_iana_zone(page: Any, web: WebWorld) -> None:
    sign_in(page, web, web.account())
    options = page.locator("#time-zones option")
    assert options.count() > 400
    expect(
        page.locator('#time-zones option[value="America/Argentina/Buenos_Aires"]')
    ).to_have_count(1)


def test_a_zone_that_does_not_exist_is_refused_and_userinfo_keeps_the_old_one(
    page: Any, web: WebWorld
) -> None:
    account = web.account(timezone="Europe/London")
    sign_in(page, web, account)
    page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("alert")).to_contain_text("Time zone:")
    expect(page.get_by_label("Time zone")).to_have_value("Mars/Olympus_Mons")  # kept to fix
    assert userinfo(web, account)["zoneinfo"] == "Europe/London"


def test_week_start_and_clock_are_saved(page: Any, web: WebWorld) -> None:
    sign_in(page, web, web.account())
    page.get_by_label("Week starts on").select_option("sunday")
    page.get_by_label("Clock").select_option("12h")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Your profile was saved")
    page.reload()
    expect(page.get_by_label("Week starts on")).to_have_value("sunday")
    expect(page.get_by_label("Clock")).to_have_value("12h")


def test_changing_the_email_needs_the_password(page: Any, web: WebWorld) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.get_by_label("New email").fill("new.address@example.com")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Change email").click()
    expect(page.get_by_role("alert")).to_contain_text("not your password")
    assert userinfo(web, account)["email"] == account.email

    page.get_by_label("New email").fill("new.address@example.com")
    page.get_by_label("Your password").fill(account.password)
    page.get_by_role("button", name="Change email").click()
    expect(page.get_by_role("status")).to_contain_text("Your email address was changed")
    assert userinfo(web, account)["email"] == "new.address@example.com"


def test_a_profile_form_with_a_forged_csrf_token_changes_nothing(page: Any, web: WebWorld) -> None:
    account = web.account(timezone="Europe/London")
    sign_in(page, web, account)
    page.get_by_label("Time zone").fill("Europe/Paris")
    form = page.locator("form", has=page.get_by_label("Time zone"))
    form.locator("input[name=csrf_token]").evaluate("field => { field.value = 'forged' }")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("alert")).to_contain_text("This form was not accepted")
    assert userinfo(web, account)["zoneinfo"] == "Europe/London"
