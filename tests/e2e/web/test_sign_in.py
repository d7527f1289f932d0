"""Signing in to the hosted pages in a real browser: password, TOTP, CSRF, lockout."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import WebAccount, WebWorld


def sign_in_with_password(
    page: Any, web: WebWorld, account: WebAccount, password: str | None = None
) -> None:
    page.goto(web.sign_in_url(account))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(password or account.password)
    page.get_by_role("button", name="Sign in").click()


def test_a_person_signs_in_with_password_and_totp_code(page: Any, web: WebWorld) -> None:
    account = web.account(totp=True)
    sign_in_with_password(page, web, account)
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    page.get_by_label("Code").fill(account.totp_code())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your Profile")).to_be_visible()
    expect(page.get_by_text(account.email)).to_be_visible()
    assert page.problems == []  # no CSP violation, no script error


def test_a_wrong_totp_code_keeps_the_person_on_the_code_step(page: Any, web: WebWorld) -> None:
    account = web.account(totp=True)
    sign_in_with_password(page, web, account)
    page.get_by_label("Code").fill("000000" if account.totp_code() != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    page.goto(web.url(""))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_account_without_totp_signs_in_with_its_password(page: Any, web: WebWorld) -> None:
    account = web.account()
    sign_in_with_password(page, web, account)
    expect(page.get_by_role("heading", name="Your Profile")).to_be_visible()


def test_a_form_with_a_wrong_csrf_token_is_refused(page: Any, web: WebWorld) -> None:
    account = web.account()
    page.goto(web.sign_in_url(account))
    page.locator("input[name=csrf_token]").first.evaluate("field => { field.value = 'forged' }")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("This form was not accepted")
    page.goto(web.url(""))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_repeated_failures_lock_the_account_and_say_when_to_retry(page: Any, web: WebWorld) -> None:
    account = web.account()  # the fixture locks after 3 failures
    for _ in range(3):
        sign_in_with_password(page, web, account, password="not the password")
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"Too many failed sign-in attempts\. Try again after \d\d:\d\d UTC")
    )
    sign_in_with_password(page, web, account)  # the right password, still locked
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_signing_in_returns_to_the_page_asked_for(page: Any, web: WebWorld) -> None:
    account = web.account()
    page.goto(web.url("/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(web.sign_in_url(account) + "&next=/my/")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(web.url("/"))
