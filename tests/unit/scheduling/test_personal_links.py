"""Personalized links: a template's duration, calendars, working hours, buffers and
notice decide the slots; the recipient is the booking's invitee; the template's
callback gets the booking with the correlation id."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from syncd.config import Settings
from syncd.errors import ConflictError, FieldErrors, NotFoundError
from syncd.scheduling.booking import Invitee, book, link_for_token, offered_slots
from syncd.scheduling.personal import (
    Recipient,
    TemplateFields,
    create_personal_link,
    create_template,
    disable_personal_link,
    remove_template,
)
from syncd.store.availability_rules import DEFAULT_RULE_ID, save_rule
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.models import ManagedEvent, OutboxMessage, SchedulingLink
from syncd.store.tenants import find_account
from tests.support.api import NOW, ApiAccount, ApiApplication, ApiWorld

DAY = dt.date(2030, 1, 8)  # a Tuesday; NOW is Monday 2030-01-07 12:00 UTC
STALENESS = 3600.0
CALLBACK = "https://93.184.216.34/booked"


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def alice(api_world: ApiWorld) -> ApiAccount:
    tenant: ApiApplication = api_world.application("acme")
    account = api_world.account(tenant, "alice@example.com")
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    api_world.calendar(account, "Side")
    return account


@pytest.fixture
def tuesday_mornings(engine: Engine, alice: ApiAccount) -> None:
    with session_scope(engine) as session:
        periods = [{"day": "tuesday", "start_time": "09:00", "end_time": "12:00"}]
        save_rule(session, alice.id, DEFAULT_RULE_ID, "Etc/UTC", periods)


def template(engine: Engine, settings: Settings, alice: ApiAccount, **fields: Any) -> str:
    values: dict[str, Any] = {"name": "Intro", "duration_minutes": 60}
    values.update(fields)
    values.setdefault("target_calendar_id", alice.calendar_ids[0])
    with session_scope(engine) as session:
        account = find_account(session, alice.id)
        return create_template(session, settings, account, TemplateFields(**values)).id


def personal_token(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    alice: ApiAccount,
    template_id: str,
    **r: Any,
) -> str:
    recipient = Recipient(
        **({"email": "cara@example.com", "name": "Cara", "correlation_id": "crm-7"} | r)
    )
    with session_scope(engine) as session:
        view = create_personal_link(
            session,
            box,
            settings,
            find_account(session, alice.id),
            template_id,
            recipient,
            "https://syncd.example/my",
            NOW,
            "api",
        )
        return view.url.rsplit("/", 1)[1]


def day_starts(engine: Engine, token: str) -> list[dt.datetime]:
    with session_scope(engine) as session:
        slots = offered_slots(session, link_for_token(session, token), NOW, STALENESS).slots
    return [slot.start for slot in slots if slot.start.date() == DAY]


def do_book(engine: Engine, token: str, start: dt.datetime) -> None:
    with session_scope(engine) as session:
        book(session, token, start, Invitee("", "", "Europe/Paris"), {}, NOW, STALENESS)


@pytest.mark.usefixtures("tuesday_mornings")
def test_slots_stay_inside_the_working_hours_and_keep_the_buffers(
    engine: Engine, box: SecretBox, settings: Settings, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(10, 30), at(10, 45))
    template_id = template(engine, settings, alice, buffer_after_minutes=15)
    token = personal_token(engine, box, settings, alice, template_id)
    # 60-minute meetings on the half hour in 09-12 with 15 minutes free after each:
    # 09:00 (free until 10:15) and 11:00; 09:30-10:30 would need 10:30-10:45 free.
    assert day_starts(engine, token) == [at(9), at(11)]


def test_without_working_hours_the_day_is_offered_around_busy_time(
    engine: Engine, box: SecretBox, settings: Settings, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(1), at(23))
    template_id = template(engine, settings, alice, use_working_hours=False)
    token = personal_token(engine, box, settings, alice, template_id)
    assert day_starts(engine, token) == [at(0), at(23), at(23, 30)]


def test_only_the_templates_calendars_make_the_person_busy(
    engine: Engine, box: SecretBox, settings: Settings, api_world: ApiWorld, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[1], at(0), at(23, 59))  # the Side calendar
    template_id = template(
        engine, settings, alice, use_working_hours=False, calendar_ids=[alice.calendar_ids[0]]
    )
    token = personal_token(engine, box, settings, alice, template_id)
    assert at(9) in day_starts(engine, token)


def test_minimum_notice_hides_the_times_too_soon(
    engine: Engine, box: SecretBox, settings: Settings, alice: ApiAccount
) -> None:
    template_id = template(
        engine, settings, alice, use_working_hours=False, minimum_notice_minutes=22 * 60
    )
    token = personal_token(engine, box, settings, alice, template_id)
    assert day_starts(engine, token)[0] == at(10)  # NOW + 22 h


@pytest.mark.usefixtures("tuesday_mornings")
def test_a_booking_has_the_recipient_as_invitee_and_calls_the_templates_callback(
    engine: Engine, box: SecretBox, settings: Settings, alice: ApiAccount
) -> None:
    template_id = template(engine, settings, alice, callback_url=CALLBACK)
    token = personal_token(engine, box, settings, alice, template_id, summary="Call with Cara")
    do_book(engine, token, at(9))
    with session_scope(engine) as session:
        (event,) = session.execute(select(ManagedEvent)).scalars()
        (link,) = session.execute(select(SchedulingLink)).scalars()
        (message,) = session.execute(
            select(OutboxMessage).where(col(OutboxMessage.kind) == "slot_selected")
        ).scalars()
        payload = json.loads(message.body)
        url = message.url
    assert event.request["summary"] == "Call with Cara"
    assert event.request["attendees"] == [{"email": "cara@example.com", "display_name": "Cara"}]
    assert link.status == "completed"
    assert url == CALLBACK
    assert (payload["correlation_id"], payload["invitee"]["email"]) == ("crm-7", "cara@example.com")


@pytest.mark.usefixtures("tuesday_mornings")
def test_a_reusable_link_stays_open_after_a_booking(
    engine: Engine, box: SecretBox, settings: Settings, alice: ApiAccount
) -> None:
    template_id = template(engine, settings, alice)
    token = personal_token(engine, box, settings, alice, template_id, link_kind="reusable")
    do_book(engine, token, at(9))
    with session_scope(engine) as session:
        (link,) = session.execute(select(SchedulingLink)).scalars()
    assert link.status == "open"


def test_a_template_for_a_calendar_of_someone_else_is_refused(
    engine: Engine, settings: Settings, api_world: ApiWorld, alice: ApiAccount
) -> None:
    other = api_world.account(api_world.application("other"), "bob@example.com")
    api_world.profile(other)
    api_world.calendar(other, "Bob's", primary=True)
    with pytest.raises(FieldErrors) as refused:
        template(engine, settings, alice, target_calendar_id=other.calendar_ids[0])
    assert "target_calendar_id" in refused.value.errors


def test_every_problem_of_a_template_is_reported_at_once(
    engine: Engine, settings: Settings, alice: ApiAccount
) -> None:
    with pytest.raises(FieldErrors) as refused:
        template(
            engine,
            settings,
            alice,
            name="",
            duration_minutes=1,
            buffer_before_minutes=-5,
            callback_url="ftp://example.com",
        )
    assert {"name", "duration_minutes", "buffer_before_minutes", "callback_url"} <= set(
        refused.value.errors
    )


@pytest.mark.usefixtures("tuesday_mornings")
def test_a_completed_link_cannot_be_disabled(
    engine: Engine, box: SecretBox, settings: Settings, alice: ApiAccount
) -> None:
    token = personal_token(engine, box, settings, alice, template(engine, settings, alice))
    do_book(engine, token, at(9))
    with session_scope(engine) as session:
        (link,) = session.execute(select(SchedulingLink)).scalars()
        with pytest.raises(ConflictError):
            disable_personal_link(session, find_account(session, alice.id), link.id)


def test_a_template_of_someone_else_cannot_be_deleted(
    engine: Engine, settings: Settings, api_world: ApiWorld, alice: ApiAccount
) -> None:
    other = api_world.account(api_world.application("other"), "bob@example.com")
    template_id = template(engine, settings, alice)
    with session_scope(engine) as session:
        bob = find_account(session, other.id)
        with pytest.raises(NotFoundError):
            remove_template(session, bob, template_id)
