"""Account Security in a real browser: TOTP set-up, recovery codes, password, sessions."""

from __future__ import annotations

from typing import Any

import pyotp
from playwright.sync_api import expect

from tests.support.browser import WebWorld, sign_in


def section(page: Any, name: str) -> Any:
    return page.get_by_role("region", name=name)


def test_setting_up_totp_shows_a_qr_code_and_ten_recovery_codes_once(
    page: Any, web: WebWorld
) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.get_by_role("link", name="Account Security").click()
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_role("img", name="QR code of your two-step sign-in key")).to_be_visible()
    secret = page.locator("[data-totp-key]").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    codes = (
        page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    )
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(section(page, "Two-step sign-in")).to_contain_text("10 unused recovery codes")
    assert page.problems == []

    # Signing in again asks for a code; a recovery code does it, once.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your Profile")).to_be_visible()
    page.get_by_role("link", name="Account Security").click()
    expect(section(page, "Two-step sign-in")).to_contain_text("9 unused recovery codes")


def test_a_wrong_first_code_does_not_turn_totp_on(page: Any, web: WebWorld) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.goto(web.url("/security"))
    page.get_by_role("button", name="Set up two-step sign-in").click()
    page.get_by_label("Code from your app").fill("12345x")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.goto(web.url("/security"))
    expect(page.get_by_role("button", name="Set up two-step sign-in")).to_be_visible()


def test_regenerating_recovery_codes_needs_the_password(page: Any, web: WebWorld) -> None:
    account = web.account(totp=True)
    sign_in(page, web, account)
    page.goto(web.url("/security"))
    totp = section(page, "Two-step sign-in")
    totp.get_by_label("Your password (to make new recovery codes)").fill("not my password")
    totp.get_by_role("button", name="Regenerate recovery codes").click()
    expect(page.get_by_role("alert")).to_contain_text("that is not your password")
    totp = section(page, "Two-step sign-in")
    totp.get_by_label("Your password (to make new recovery codes)").fill(account.password)
    totp.get_by_role("button", name="Regenerate recovery codes").click()
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(
        10
    )


def test_changing_the_password_signs_out_the_other_sessions(
    browser: Any, page: Any, web: WebWorld
) -> None:
    account = web.account()
    other = browser.new_context().new_page()
    sign_in(other, web, account)
    sign_in(page, web, account)
    page.goto(web.url("/security"))
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password", exact=False).first.fill("a brand new password")
    page.get_by_label("New password again").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    other.goto(web.url("/"))
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    other.context.close()


def test_sign_out_every_other_session_keeps_this_one(
    browser: Any, page: Any, web: WebWorld
) -> None:
    account = web.account()
    other = browser.new_context().new_page()
    sign_in(other, web, account)
    sign_in(page, web, account)
    page.goto(web.url("/security"))
    expect(section(page, "Where you are signed in").get_by_role("listitem")).to_have_count(2)
    page.get_by_role("button", name="Sign out every other session").click()
    expect(page.get_by_role("status")).to_contain_text("Every other session was signed out")
    expect(section(page, "Where you are signed in").get_by_role("listitem")).to_have_count(1)
    other.goto(web.url("/"))
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    other.context.close()


def test_recent_sign_ins_list_failed_attempts_too(page: Any, web: WebWorld) -> None:
    account = web.account()
    page.goto(web.sign_in_url(account))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    sign_in(page, web, account)
    page.goto(web.url("/security"))
    rows = section(page, "Recent sign-ins").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Signed in")
    expect(rows.nth(2)).to_contain_text("Failed")
