"""Calendar Services in a real browser: the connected profiles with their status in
words, remove one (after a confirmation), add another and reconnect a disconnected one
through the hosted flow, and ``profile_relink_url`` restoring a disconnected profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from syncd.store.db import session_scope
from syncd.store.profiles import create_profile, find_profile, list_profiles, revoke_profile_access
from syncd.store.tenants import find_account
from syncd.sync.run import SyncContext, sync_profile
from tests.support.browser import WebAccount, WebWorld, live_web, sign_in
from tests.support.radicale import CalDAVAccount


@pytest.fixture
def web(tmp_path: Path, secret_key: str) -> Iterator[WebWorld]:
    with live_web(tmp_path, secret_key, caldav_allowed_hosts=["127.0.0.1"]) as world:
        yield world


def caldav_profile(web: WebWorld, account: WebAccount, caldav: CalDAVAccount) -> str:
    """A CalDAV profile on Radicale, synced once (active)."""
    with session_scope(web.engine) as session:
        profile = create_profile(
            session,
            web.box,
            find_account(session, account.id),
            "caldav",
            caldav.user,
            caldav.credentials,
        )
        profile_id = profile.id
    sync(web, profile_id)
    return profile_id


def sync(web: WebWorld, profile_id: str) -> None:
    context = SyncContext(web.engine, web.settings, web.box, worker_id="test")
    assert sync_profile(context, profile_id).outcome == "ok"


def disconnect(web: WebWorld, profile_id: str) -> None:
    with session_scope(web.engine) as session:
        revoke_profile_access(session, web.box, find_profile(session, profile_id))


def api_status(web: WebWorld, account: WebAccount) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{web.server.url}/v1/userinfo",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=10,
    )
    return list(answer.json()["cronofy.data"]["profiles"])


def reconnect_form(page: Any, caldav: CalDAVAccount) -> None:
    page.get_by_label("Server address").fill(caldav.server.url + "/")
    page.get_by_label("Username").fill(caldav.user)
    page.get_by_label("Password").fill("any-password")
    page.get_by_role("button", name="Connect").click()


def test_connected_services_show_status_and_last_sync_in_words(
    page: Any, web: WebWorld, caldav_account: CalDAVAccount
) -> None:
    account = web.account()
    caldav_profile(web, account, caldav_account)
    sign_in(page, web, account)
    page.get_by_role("link", name="Calendar Services").click()
    services = page.get_by_role("region", name="Connected services")
    expect(services).to_contain_text("CalDAV")
    expect(services).to_contain_text(caldav_account.user)
    expect(services).to_contain_text("Up to date")
    expect(services).to_contain_text("Last synced: just now")


def test_removing_a_calendar_service_asks_first_then_removes_it(
    page: Any, web: WebWorld, caldav_account: CalDAVAccount
) -> None:
    account = web.account()
    caldav_profile(web, account, caldav_account)
    sign_in(page, web, account)
    page.goto(web.url("/calendars"))
    page.get_by_role("link", name=f"Remove CalDAV ({caldav_account.user})").click()
    expect(page.get_by_text(f"Remove CalDAV ({caldav_account.user})?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    assert len(api_status(web, account)) == 1
    page.get_by_role("link", name=f"Remove CalDAV ({caldav_account.user})").click()
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("was removed")
    expect(page.get_by_role("region", name="Connected services")).to_contain_text(
        "No calendar service is connected yet"
    )
    assert api_status(web, account) == []


def test_removing_needs_the_forms_csrf_token(
    page: Any, web: WebWorld, caldav_account: CalDAVAccount
) -> None:
    account = web.account()
    caldav_profile(web, account, caldav_account)
    sign_in(page, web, account)
    page.goto(web.url("/calendars"))
    page.get_by_role("link", name=f"Remove CalDAV ({caldav_account.user})").click()
    page.locator("main input[name=csrf_token]").evaluate("field => { field.value = 'forged' }")
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("alert")).to_contain_text("This form was not accepted")
    assert len(api_status(web, account)) == 1


def test_reconnecting_a_disconnected_service_makes_it_active_again(
    page: Any, web: WebWorld, caldav_account: CalDAVAccount
) -> None:
    account = web.account()
    profile_id = caldav_profile(web, account, caldav_account)
    disconnect(web, profile_id)
    sign_in(page, web, account)
    page.goto(web.url("/calendars"))
    expect(page.get_by_role("region", name="Connected services")).to_contain_text("Disconnected")
    page.get_by_role("link", name=f"Reconnect CalDAV ({caldav_account.user})").click()
    expect(page.get_by_role("heading", name=f"Reconnect {caldav_account.user}")).to_be_visible()
    reconnect_form(page, caldav_account)
    expect(page.get_by_role("status")).to_contain_text("Reconnected")
    (profile,) = api_status(web, account)
    assert (profile["profile_id"], profile["sync_status"]) == (profile_id, "pending")
    sync(web, profile_id)
    (profile,) = api_status(web, account)
    assert profile["sync_status"] == "active"


def test_the_relink_url_signs_the_person_in_and_restores_the_profile(
    page: Any, web: WebWorld, caldav_account: CalDAVAccount
) -> None:
    account = web.account()
    profile_id = caldav_profile(web, account, caldav_account)
    disconnect(web, profile_id)
    (profile,) = api_status(web, account)
    relink_url = profile["profile_relink_url"]
    assert relink_url.endswith(f"/oauth/profiles/{profile_id}/relink")

    page.goto(relink_url)
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    reconnect_form(page, caldav_account)
    expect(page.get_by_role("status")).to_contain_text("Reconnected")
    sync(web, profile_id)
    (profile,) = api_status(web, account)
    assert (profile["sync_status"], profile.get("profile_relink_url")) == ("active", None)


def test_adding_another_calendar_service_runs_the_same_flow(
    page: Any, web: WebWorld, caldav_account: CalDAVAccount
) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.goto(web.url("/calendars"))
    page.get_by_role("link", name="Add another calendar service").click()
    page.get_by_role("link", name="Another CalDAV server").click()
    reconnect_form(page, caldav_account)
    expect(page.get_by_role("status")).to_contain_text("is connected")
    expect(page.get_by_role("region", name="Connected services")).to_contain_text("Catching up")
    with session_scope(web.engine) as session:
        (profile,) = list_profiles(session, account_id=account.id)
    assert profile.provider == "caldav"
