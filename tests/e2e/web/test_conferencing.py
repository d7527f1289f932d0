"""Conferencing Services in a real browser: add Zoom through its OAuth, choose it as the
default, and see an event upserted with ``profile_id: "default"`` get a Zoom meeting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from syncd.conferencing.worker import ManagedEventWorker
from syncd.store.db import session_scope
from syncd.store.managed import create_conferencing_profile
from syncd.store.tenants import find_account
from tests.emulators.google import GoogleCalendarEmulator
from tests.emulators.goto import GoToEmulator
from tests.emulators.zoom import ZoomEmulator
from tests.support.browser import WebAccount, WebWorld, live_web, sign_in
from tests.support.events_world import event_body


def _oauth(emulator: Any, api_base_url: str) -> dict[str, str]:
    return {
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "api_base_url": api_base_url,
        "token_url": emulator.token_url,
        "authorize_url": emulator.authorize_url,
    }


@pytest.fixture
def services(
    tmp_path: Path, secret_key: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[WebWorld, ZoomEmulator, GoToEmulator, GoogleCalendarEmulator]]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulators speak http
    with ZoomEmulator() as zoom, GoToEmulator() as goto, GoogleCalendarEmulator() as google:
        google_settings = _oauth(google, google.base_url) | {"api_base_url": google.base_url}
        with live_web(
            tmp_path,
            secret_key,
            zoom=_oauth(zoom, zoom.api_base_url),
            goto=_oauth(goto, goto.api_base_url),
            google=google_settings,
        ) as web:
            yield web, zoom, goto, google


def linked_goto(web: WebWorld, account: WebAccount, goto: GoToEmulator) -> None:
    """A GoTo Meeting service linked before (so it is the default at first)."""
    with session_scope(web.engine) as session:
        row = find_account(session, account.id)
        profile = create_conferencing_profile(
            session, web.box, row, "goto", "pat@goto", goto.issue_grant()
        )
        row.default_conferencing_profile_id = profile.id
        session.add(row)


def test_choosing_zoom_as_default_gives_default_events_a_zoom_meeting(
    page: Any, services: tuple[WebWorld, ZoomEmulator, GoToEmulator, GoogleCalendarEmulator]
) -> None:
    web, zoom, goto, google = services
    account = web.account()
    _, calendar_id = web.google_profile(account, google)
    linked_goto(web, account, goto)
    sign_in(page, web, account)
    page.get_by_role("link", name="Conferencing Services").click()
    page.get_by_role("link", name="Add Zoom").click()  # Zoom's consent, and back
    expect(page.get_by_role("status")).to_contain_text("Zoom is connected")
    expect(page.get_by_role("region", name="Linked services")).to_contain_text("Zoom")

    zoom_choice = page.get_by_label(f"Zoom ({account.email})", exact=True)
    zoom_choice.check()
    page.get_by_role("button", name="Save default").click()
    expect(page.get_by_role("status")).to_contain_text("default conferencing service was changed")
    expect(zoom_choice).to_be_checked()

    answer = requests.post(
        f"{web.server.url}/v1/calendars/{calendar_id}/events",
        json=event_body(conferencing={"profile_id": "default"}),
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    ManagedEventWorker(web.engine, web.settings, web.box).run_due()
    (meeting,) = zoom.meetings.values()
    assert goto.meetings == {}
    (event,) = [
        e for e in google.stored_items("pat@example.com") if e.get("summary") == "Board meeting"
    ]
    assert meeting["join_url"] in event["description"]


def test_a_declined_authorization_says_so_and_links_nothing(
    page: Any, services: tuple[WebWorld, ZoomEmulator, GoToEmulator, GoogleCalendarEmulator]
) -> None:
    web, zoom, _, _ = services
    zoom.consent_denied = True
    sign_in(page, web, web.account())
    page.goto(web.url("/conferencing"))
    page.get_by_role("link", name="Add Zoom").click()
    expect(page.get_by_role("alert")).to_contain_text("was not connected (access denied)")
    expect(page.get_by_role("region", name="Linked services")).to_contain_text(
        "No conferencing service"
    )


def test_removing_a_service_asks_first_and_falls_back_to_8x8(
    page: Any, services: tuple[WebWorld, ZoomEmulator, GoToEmulator, GoogleCalendarEmulator]
) -> None:
    web, _, goto, _ = services
    account = web.account()
    linked_goto(web, account, goto)
    sign_in(page, web, account)
    page.goto(web.url("/conferencing"))
    page.get_by_role("link", name="Remove GoTo Meeting (pat@goto)").click()
    expect(page.get_by_text("Remove GoTo Meeting (pat@goto)?")).to_be_visible()
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("was removed")
    expect(page.get_by_label("An 8x8 room")).to_be_checked()
