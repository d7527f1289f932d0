"""The hosted booking page in a real browser: the invitee's zone, booking, one claim per
slot, and a member out of sync."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from syncd.cronofy.scheduling import RealTimeSchedulingRequest
from syncd.scheduling.links import create_scheduling_link
from syncd.store.db import session_scope
from syncd.store.models import Booking, ManagedEvent, SchedulingLink
from tests.support.api import ApiAccount, ApiWorld
from tests.support.browser import WebWorld

INVITEE_ZONE = "America/New_York"


def tomorrow(hour: int) -> dt.datetime:
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def member(web: WebWorld, application_id: str, email: str, status: str = "active") -> ApiAccount:
    world = ApiWorld(web.engine, web.box)
    account = web.account(application_id, email)
    api_account = ApiAccount(account.id, account.token, application_id)
    profile = world.profile(api_account, last_success_at=dt.datetime.now(dt.UTC))
    world.calendar(api_account, "Work", primary=True)
    if status != "active":
        world.set_profile(profile, sync_status=status)
    return api_account


def link_url(web: WebWorld, application_id: str, members: list[ApiAccount]) -> str:
    body: dict[str, Any] = {
        "oauth": {"redirect_uri": "https://app.example.com/done"},
        "event": {"summary": "Interview with Acme"},
        "availability": {
            "participants": [{"members": [{"sub": m.id} for m in members]}],
            "required_duration": {"minutes": 60},
            "start_interval": {"minutes": 60},
            "query_periods": [{"start": tomorrow(14).isoformat(), "end": tomorrow(17).isoformat()}],
        },
        "target_calendars": [{"sub": members[0].id, "calendar_id": members[0].calendar_ids[0]}],
    }
    with session_scope(web.engine) as session:
        view = create_scheduling_link(
            session,
            web.box,
            web.settings,
            application_id,
            RealTimeSchedulingRequest.model_validate(body),
            web.base,
        )
        return view.url


@pytest.fixture
def invitee_page(browser: Any) -> Any:
    context = browser.new_context(timezone_id=INVITEE_ZONE)
    yield context.new_page()
    context.close()


def fill_invitee(page: Any) -> None:
    page.get_by_label("Your name").fill("Cara Candidate")
    page.get_by_label("Your email").fill("cara@example.com")


def test_slots_are_shown_in_the_browsers_zone_and_a_slot_is_booked(
    web: WebWorld, invitee_page: Any
) -> None:
    application_id = web.application()
    alice = member(web, application_id, "alice@example.com")
    invitee_page.goto(link_url(web, application_id, [alice]))
    expect(invitee_page.locator("[data-zone-shown]")).to_have_text(INVITEE_ZONE)
    local = tomorrow(14).astimezone(ZoneInfo(INVITEE_ZONE))
    expect(invitee_page.locator("[data-slot]").first).to_contain_text(f"{local:%H:%M}")
    fill_invitee(invitee_page)
    invitee_page.locator("[data-slot]").first.click()
    expect(invitee_page.locator("[data-booked]")).to_contain_text("Interview with Acme")
    expect(invitee_page.locator("[data-booked]")).to_contain_text(INVITEE_ZONE)
    expect(invitee_page.locator("[data-ics]")).to_be_visible()
    with session_scope(web.engine) as session:
        (event,) = session.execute(select(ManagedEvent)).scalars()
        (link,) = session.execute(select(SchedulingLink)).scalars()
    assert event.request["attendees"][0]["email"] == "cara@example.com"
    assert link.status == "completed"


def test_the_timezone_can_be_changed_on_the_page(web: WebWorld, invitee_page: Any) -> None:
    application_id = web.application()
    alice = member(web, application_id, "alice@example.com")
    invitee_page.goto(link_url(web, application_id, [alice]))
    invitee_page.get_by_label("Time zone").select_option("Asia/Tokyo")
    invitee_page.get_by_role("button", name="Show times").click()
    expect(invitee_page.locator("[data-zone-shown]")).to_have_text("Asia/Tokyo")
    local = tomorrow(14).astimezone(ZoneInfo("Asia/Tokyo"))
    expect(invitee_page.locator("[data-slot]").first).to_contain_text(f"{local:%H:%M}")


def test_two_invitees_choosing_the_same_slot_get_one_booking(web: WebWorld, browser: Any) -> None:
    application_id = web.application()
    alice = member(web, application_id, "alice@example.com")
    url = link_url(web, application_id, [alice])
    contexts = [browser.new_context(timezone_id=INVITEE_ZONE) for _ in range(2)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:  # both see the slot before either chooses it
            page.goto(url)
            fill_invitee(page)
            expect(page.locator("[data-slot]").first).to_be_visible()
        for page in pages:
            page.locator("[data-slot]").first.click()
        expect(pages[0].locator("[data-booked]")).to_be_visible()
        expect(pages[1].get_by_role("alert").first).to_be_visible()
        second = pages[1].content()
        assert "just taken" in second or "no longer available" in second
    finally:
        for context in contexts:
            context.close()
    with session_scope(web.engine) as session:
        assert len(list(session.execute(select(Booking)).scalars())) == 1


def test_a_member_with_a_disconnected_profile_means_no_slots_and_the_reason(
    web: WebWorld, invitee_page: Any
) -> None:
    application_id = web.application()
    alice = member(web, application_id, "alice@example.com")
    bob = member(web, application_id, "bob@example.com", status="disconnected")
    invitee_page.goto(link_url(web, application_id, [alice, bob]))
    expect(invitee_page.locator("[data-blocked]")).to_contain_text("not in sync")
    expect(invitee_page.locator("[data-blocked]")).to_contain_text("disconnected")
    assert invitee_page.locator("[data-slot]").count() == 0


def test_a_booking_is_cancelled_once_from_its_link(web: WebWorld, invitee_page: Any) -> None:
    application_id = web.application()
    alice = member(web, application_id, "alice@example.com")
    invitee_page.goto(link_url(web, application_id, [alice]))
    fill_invitee(invitee_page)
    invitee_page.locator("[data-slot]").first.click()
    cancel_url = invitee_page.locator("[data-cancel]").get_attribute("href")
    invitee_page.locator("[data-cancel]").click()
    invitee_page.locator("[data-confirm-cancel]").click()
    expect(invitee_page.locator("[data-note]")).to_contain_text("cancelled")
    response = invitee_page.goto(web.server.url + cancel_url)
    assert response is not None and response.status == 404
