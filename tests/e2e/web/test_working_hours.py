"""Working hours in a real browser: the periods saved on the page are the account's
default availability rule, so ``/v1/availability`` with ``managed_availability`` follows."""

from __future__ import annotations

from typing import Any

import requests
from playwright.sync_api import expect

from tests.support.browser import WebAccount, WebWorld, sign_in


def fill_period(page: Any, row: int, day: str, start: str, end: str) -> None:
    page.get_by_label(f"Day of period {row}", exact=True).select_option(day)
    page.get_by_label(f"Start of period {row}", exact=True).fill(start)
    page.get_by_label(f"End of period {row}", exact=True).fill(end)


def managed_monday(web: WebWorld, account: WebAccount) -> list[tuple[str, str]]:
    """Available hours of Monday 7 January 2030 (UTC) under managed availability."""
    response = requests.post(
        web.server.url + "/v1/availability",
        headers={"Authorization": f"Bearer {account.token}"},
        json={
            "participants": [
                {"members": [{"sub": account.id, "managed_availability": True}], "required": "all"}
            ],
            "required_duration": {"minutes": 30},
            "query_periods": [{"start": "2030-01-07T00:00:00Z", "end": "2030-01-08T00:00:00Z"}],
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return [(p["start"], p["end"]) for p in response.json()["available_periods"]]


def test_two_periods_on_one_day_saved_on_the_page_are_the_managed_availability(
    page: Any, web: WebWorld
) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.get_by_role("link", name="Working hours").click()
    expect(page.get_by_text("You have not set working hours yet")).to_be_visible()
    page.get_by_label("Time zone of these hours").fill("America/New_York")
    fill_period(page, 1, "monday", "09:00", "12:00")
    fill_period(page, 2, "monday", "13:00", "17:00")
    page.get_by_role("button", name="Save working hours").click()
    expect(page.get_by_role("status")).to_contain_text("working hours were saved")
    expect(page.get_by_label("Start of period 2", exact=True)).to_have_value("13:00")

    # New York is UTC-5 in January.
    assert managed_monday(web, account) == [
        ("2030-01-07T14:00:00Z", "2030-01-07T17:00:00Z"),
        ("2030-01-07T18:00:00Z", "2030-01-07T22:00:00Z"),
    ]


def test_emptying_a_row_removes_that_period_from_the_managed_availability(
    page: Any, web: WebWorld
) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.get_by_role("link", name="Working hours").click()
    page.get_by_label("Time zone of these hours").fill("Etc/UTC")
    fill_period(page, 1, "monday", "09:00", "12:00")
    fill_period(page, 2, "monday", "13:00", "17:00")
    page.get_by_role("button", name="Save working hours").click()
    fill_period(page, 1, "", "", "")
    page.get_by_role("button", name="Save working hours").click()
    expect(page.get_by_role("status")).to_contain_text("working hours were saved")

    assert managed_monday(web, account) == [("2030-01-07T13:00:00Z", "2030-01-07T17:00:00Z")]


def test_a_period_ending_before_it_starts_is_refused_and_kept_on_the_page(
    page: Any, web: WebWorld
) -> None:
    account = web.account()
    sign_in(page, web, account)
    page.get_by_role("link", name="Working hours").click()
    page.get_by_label("Time zone of these hours").fill("Etc/UTC")
    fill_period(page, 1, "tuesday", "17:00", "09:00")
    page.get_by_role("button", name="Save working hours").click()
    expect(page.get_by_role("alert")).to_contain_text("end_time must be after start_time")
    expect(page.get_by_label("Start of period 1", exact=True)).to_have_value("17:00")
    expect(page.get_by_text("You have not set working hours yet")).to_be_visible()
    stored = requests.get(
        web.server.url + "/v1/availability_rules/default",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=10,
    )
    assert stored.status_code == 404
