"""The operator view in a real browser: behind the operator's own password, it lists
profiles by status, a disconnected one with the same reconnect link the API gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from syncd.identity.operator import set_operator_password
from syncd.store.db import session_scope
from tests.support.api import ApiAccount, ApiWorld
from tests.support.browser import WebWorld, sign_in

OPERATOR_PASSWORD = "operator password 1"


@pytest.fixture
def operator_password(web: WebWorld) -> str:
    with session_scope(web.engine) as session:
        set_operator_password(session, OPERATOR_PASSWORD, dt.datetime.now(dt.UTC))
    return OPERATOR_PASSWORD


def operator_sign_in(page: Any, web: WebWorld, password: str) -> None:
    page.goto(web.url("/operator"))
    page.get_by_label("Operator password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def disconnected_profile(web: WebWorld) -> tuple[ApiAccount, str]:
    world = ApiWorld(web.engine, web.box)
    account = web.account()
    api_account = ApiAccount(account.id, account.token, account.application_id)
    world.profile(api_account, last_success_at=dt.datetime.now(dt.UTC))  # a healthy one
    profile = world.profile(
        api_account, sync_status="disconnected", last_success_at=dt.datetime.now(dt.UTC)
    )
    world.set_profile(profile, status_reason="the provider refused the credentials")
    return api_account, profile


def test_the_operator_view_lists_a_disconnected_profile_with_its_reconnect_link(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    account, profile_id = disconnected_profile(web)
    userinfo = requests.get(
        f"{web.server.url}/v1/userinfo",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=10,
    ).json()
    (relink,) = [
        p["profile_relink_url"]
        for p in userinfo["cronofy.data"]["profiles"]
        if p["profile_id"] == profile_id
    ]
    operator_sign_in(page, web, operator_password)
    expect(page.get_by_role("heading", name="Operator view")).to_be_visible()
    disconnected = page.get_by_role("region", name="disconnected")
    expect(disconnected).to_contain_text(profile_id)
    expect(disconnected).to_contain_text("the provider refused the credentials")
    link = disconnected.get_by_role("link", name=relink)
    expect(link).to_have_attribute("href", relink)
    expect(page.get_by_role("region", name="active")).to_contain_text("(1)")
    assert page.problems == []


def test_the_operator_view_shows_the_counts_syncd_status_shows(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    disconnected_profile(web)
    operator_sign_in(page, web, operator_password)
    counts = page.get_by_role("region", name="Profiles", exact=True).get_by_role("row").nth(1)
    expect(counts).to_have_text("2 1 0 1")  # total, active, pending, disconnected


def test_an_account_session_does_not_open_the_operator_view(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    sign_in(page, web, web.account())
    page.goto(web.url("/operator"))
    expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()


def test_a_wrong_operator_password_is_refused(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    operator_sign_in(page, web, "not the operator password")
    expect(page.get_by_role("alert")).to_contain_text("That is not the operator password")
    page.goto(web.url("/operator"))
    expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()


def test_signing_out_ends_the_operator_session(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    operator_sign_in(page, web, operator_password)
    page.get_by_role("button", name="Sign out").click()
    page.goto(web.url("/operator"))
    expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()


def test_without_an_operator_password_the_page_says_how_to_set_one(
    page: Any, web: WebWorld
) -> None:
    page.goto(web.url("/operator"))
    expect(page.get_by_text("syncd operator set-password")).to_be_visible()


def test_repeated_wrong_operator_passwords_lock_the_operator_view(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    for _ in range(3):  # the fixture locks after 3 failures
        operator_sign_in(page, web, "not the operator password")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    operator_sign_in(page, web, operator_password)  # the right password, still locked
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()


def test_a_locked_operator_sign_in_answers_429_saying_when_to_try_again(
    page: Any, web: WebWorld, operator_password: str
) -> None:
    for _ in range(3):  # the fixture locks after 3 failures
        operator_sign_in(page, web, "not the operator password")
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        operator_sign_in(page, web, operator_password)
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) >= 1
