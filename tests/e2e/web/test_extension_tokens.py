"""Extension tokens in a real browser: made (shown once), usable only for personalized
links, and revoked."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import expect

from tests.support.browser import WebWorld, sign_in


def templates(web: WebWorld, token: str) -> int:
    return requests.get(
        web.server.url + "/v1/personalized_links/templates",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).status_code


def make_token(page: Any, name: str) -> str:
    page.get_by_role("link", name="Extension tokens").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Make a token").click()
    token: str = page.locator("[data-new-token]").input_value()
    return token


def test_a_token_made_on_the_page_is_shown_once_and_lists_the_templates(
    page: Any, web: WebWorld
) -> None:
    account = web.account()
    sign_in(page, web, account)
    token = make_token(page, "Work laptop")
    assert token.startswith("sxt_")
    assert templates(web, token) == 200
    page.get_by_role("link", name="Extension tokens").click()
    expect(page.get_by_role("heading", name="Work laptop")).to_be_visible()
    expect(page.locator("[data-new-token]")).to_have_count(0)
    assert token not in page.content()


def test_a_revoked_token_is_refused(page: Any, web: WebWorld) -> None:
    account = web.account()
    sign_in(page, web, account)
    token = make_token(page, "Old phone")
    page.get_by_role("button", name="Revoke Old phone").click()
    expect(page.get_by_role("status")).to_contain_text("The token was revoked")
    expect(page.get_by_role("heading", name="Old phone")).to_have_count(0)
    assert templates(web, token) == 401


def test_a_token_cannot_read_the_accounts_calendars(page: Any, web: WebWorld) -> None:
    account = web.account()
    sign_in(page, web, account)
    token = make_token(page, "Browser")
    response = requests.get(
        web.server.url + "/v1/calendars",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 401
