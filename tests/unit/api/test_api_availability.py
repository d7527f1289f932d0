"""POST /v1/availability: answers computed from stored busy time, limits, member statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import NOW, ApiAccount, ApiApplication, ApiWorld

DAY = dt.date(2030, 1, 8)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def text(hour: int, minute: int = 0, day: dt.date = DAY) -> str:
    return at(hour, minute, day).strftime("%Y-%m-%dT%H:%M:%SZ")


def query(*groups: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "participants": list(groups),
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": text(9), "end": text(17)}],
    }
    body.update(fields)
    return body


def group(*members: ApiAccount | dict[str, Any], required: str | int = "all") -> dict[str, Any]:
    return {
        "members": [m if isinstance(m, dict) else {"sub": m.id} for m in members],
        "required": required,
    }


def spans(results: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    return [(r["start"], r["end"], [p["sub"] for p in r["participants"]]) for r in results]


@pytest.fixture
def tenant(api_world: ApiWorld) -> ApiApplication:
    return api_world.application("acme")


def member(api_world: ApiWorld, tenant: ApiApplication, email: str) -> ApiAccount:
    account = api_world.account(tenant, email)
    api_world.profile(account)
    api_world.calendar(account, "Work", primary=True)
    return account


@pytest.fixture
def alice(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    return member(api_world, tenant, "alice@example.com")


@pytest.fixture
def bob(api_world: ApiWorld, tenant: ApiApplication) -> ApiAccount:
    return member(api_world, tenant, "bob@example.com")


def post(client: TestClient, auth: ApiApplication | ApiAccount, body: dict[str, Any]) -> Any:
    return client.post("/v1/availability", headers=auth.auth(), json=body)


def test_periods_are_the_free_time_around_busy_events(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(10), at(11))
    response = post(api_client, tenant, query(group(alice)))
    assert response.status_code == 200
    assert spans(response.json()["available_periods"]) == [
        (text(9), text(10), [alice.id]),
        (text(11), text(17), [alice.id]),
    ]


def test_legacy_root_available_periods_is_the_same_as_query_periods(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(10), at(11))
    body = query(group(alice))
    legacy = dict(body, available_periods=body.pop("query_periods"))
    assert (
        post(api_client, tenant, legacy).json()
        == post(api_client, tenant, query(group(alice))).json()
    )


def test_all_members_must_be_free_for_required_all(
    api_client: TestClient,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
    bob: ApiAccount,
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(12))
    api_world.event(bob.calendar_ids[0], at(14), at(17))
    response = post(api_client, tenant, query(group(alice, bob)))
    assert spans(response.json()["available_periods"]) == [(text(12), text(14), [alice.id, bob.id])]


def test_required_one_lists_only_the_free_members(
    api_client: TestClient,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
    bob: ApiAccount,
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(13))
    api_world.event(bob.calendar_ids[0], at(12), at(17))
    body = query(group(alice, bob, required=1))
    results = spans(post(api_client, tenant, body).json()["available_periods"])
    assert (text(9), text(12), [bob.id]) in results
    assert (text(13), text(17), [alice.id]) in results
    assert all(len(subs) == 1 for _, _, subs in results)


def test_several_groups_intersect(
    api_client: TestClient,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
    bob: ApiAccount,
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(10))
    api_world.event(bob.calendar_ids[0], at(16), at(17))
    response = post(api_client, tenant, query(group(alice), group(bob)))
    assert spans(response.json()["available_periods"]) == [(text(10), text(16), [alice.id, bob.id])]


def test_slots_are_aligned_and_do_not_overlap(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    body = query(
        group(alice),
        required_duration={"minutes": 60},
        query_periods=[{"start": text(9), "end": text(11)}],
        response_format="slots",
        start_interval={"minutes": 30},
    )
    response = post(api_client, tenant, body).json()
    assert "available_periods" not in response
    assert spans(response["available_slots"]) == [
        (text(9), text(10), [alice.id]),
        (text(10), text(11), [alice.id]),
    ]


def test_overlapping_slots_start_every_interval(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    body = query(
        group(alice),
        required_duration={"minutes": 60},
        query_periods=[{"start": text(9), "end": text(11)}],
        response_format="overlapping_slots",
        start_interval={"minutes": 30},
    )
    starts = [s for s, _, _ in spans(post(api_client, tenant, body).json()["available_slots"])]
    assert starts == [text(9), text(9, 30), text(10)]


def test_max_results_cuts_the_answer(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    body = query(group(alice), response_format="overlapping_slots", max_results=3)
    assert len(post(api_client, tenant, body).json()["available_slots"]) == 3


def test_buffers_keep_meetings_away_from_busy_time(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(12), at(13))
    body = query(group(alice), buffer={"before": {"minutes": 15}, "after": {"minutes": 30}})
    assert spans(post(api_client, tenant, body).json()["available_periods"]) == [
        (text(9), text(11, 30), [alice.id]),
        (text(13, 15), text(17), [alice.id]),
    ]


def test_tentative_events_are_busy(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(16), participation_status="tentative")
    assert spans(post(api_client, tenant, query(group(alice))).json()["available_periods"]) == [
        (text(16), text(17), [alice.id])
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"transparency": "transparent"},
        {"status": "cancelled"},
        {"participation_status": "declined"},
    ],
    ids=["transparent", "cancelled", "declined"],
)
def test_events_that_do_not_block_time_leave_the_member_free(
    api_client: TestClient,
    api_world: ApiWorld,
    tenant: ApiApplication,
    alice: ApiAccount,
    fields: dict[str, str],
) -> None:
    api_world.event(alice.calendar_ids[0], at(9), at(16), **fields)
    assert spans(post(api_client, tenant, query(group(alice))).json()["available_periods"]) == [
        (text(9), text(17), [alice.id])
    ]


def test_an_opaque_all_day_event_blocks_the_whole_day(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    api_world.event(alice.calendar_ids[0], DAY, DAY + dt.timedelta(days=1))
    assert post(api_client, tenant, query(group(alice))).json()["available_periods"] == []


def test_member_calendar_ids_restrict_which_calendars_count(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    personal = api_world.calendar(alice, "Personal")
    api_world.event(personal, at(9), at(16))
    only_work = {"sub": alice.id, "calendar_ids": [alice.calendar_ids[0]]}
    assert spans(post(api_client, tenant, query(group(only_work))).json()["available_periods"]) == [
        (text(9), text(17), [alice.id])
    ]


def test_member_available_periods_narrow_the_query(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, alice: ApiAccount
) -> None:
    narrowed = {"sub": alice.id, "available_periods": [{"start": text(13), "end": text(14)}]}
    assert spans(post(api_client, tenant, query(group(narrowed))).json()["available_periods"]) == [
        (text(13), text(14), [alice.id])
    ]


def test_a_member_without_profiles_is_free_and_pending(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    newcomer = api_world.account(tenant, "new@example.com")
    response = post(api_client, tenant, query(group(newcomer), include_member_statuses=True))
    assert spans(response.json()["available_periods"]) == [(text(9), text(17), [newcomer.id])]
    assert response.json()["member_statuses"] == [{"sub": newcomer.id, "sync_status": "pending"}]


def test_member_statuses_report_active_pending_and_disconnected(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    active, pending, disconnected = (
        api_world.account(tenant, f"{name}@example.com")
        for name in ("active", "pending", "disconnected")
    )
    api_world.profile(active)
    api_world.profile(pending, sync_status="pending", initial_sync_done=False)
    api_world.profile(disconnected)
    api_world.profile(disconnected, sync_status="disconnected")
    body = query(group(active, pending, disconnected, required=1), include_member_statuses=True)
    assert post(api_client, tenant, body).json()["member_statuses"] == [
        {"sub": active.id, "sync_status": "active"},
        {"sub": pending.id, "sync_status": "pending"},
        {"sub": disconnected.id, "sync_status": "disconnected"},
    ]


def test_a_stale_profile_makes_its_member_pending(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication, settings: Any
) -> None:
    stale = api_world.account(tenant, "stale@example.com")
    too_old = NOW - dt.timedelta(seconds=settings.staleness_bound + 60)
    api_world.profile(stale, last_success_at=too_old)
    body = query(group(stale), include_member_statuses=True)
    assert post(api_client, tenant, body).json()["member_statuses"] == [
        {"sub": stale.id, "sync_status": "pending"}
    ]


def test_a_profile_with_an_unknown_status_keeps_its_member_pending_not_active(
    api_client: TestClient, api_world: ApiWorld, tenant: ApiApplication
) -> None:
    """The API uses the one member rule (``syncd.availability.member_sync_status``): a
    status it does not know does not vouch for the data, so the member is not active.

    (The API once had its own copy of the rule, which called this member ``active``.)
    """
    mixed = api_world.account(tenant, "mixed@example.com")
    api_world.profile(mixed)
    api_world.profile(mixed, sync_status="refreshing")
    body = query(group(mixed), include_member_statuses=True)
    assert post(api_client, tenant, body).json()["member_statuses"] == [
        {"sub": mixed.id, "sync_status": "pending"}
    ]


def test_member_statuses_are_absent_unless_asked_for(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    assert "member_statuses" not in post(api_client, tenant, query(group(alice))).json()


def test_an_unknown_sub_is_a_422_on_that_member(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    body = query(group(alice, {"sub": "acc_doesnotexist"}))
    response = post(api_client, tenant, body)
    assert response.status_code == 422
    assert response.json()["errors"]["participants[0].members[1].sub"][0]["key"] == (
        "errors.not_found"
    )


def test_a_calendar_of_someone_else_is_a_422_on_that_member(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount, bob: ApiAccount
) -> None:
    body = query(group({"sub": alice.id, "calendar_ids": bob.calendar_ids}))
    response = post(api_client, tenant, body)
    assert response.status_code == 422
    assert "participants[0].members[0].calendar_ids" in response.json()["errors"]


def test_an_access_token_may_query_its_own_account(
    api_client: TestClient, alice: ApiAccount
) -> None:
    response = post(api_client, alice, query(group(alice)))
    assert response.status_code == 200
    assert response.json()["available_periods"]


def test_an_access_token_may_not_name_other_accounts(
    api_client: TestClient, alice: ApiAccount, bob: ApiAccount
) -> None:
    response = post(api_client, alice, query(group(alice, bob)))
    assert response.status_code == 422
    assert "participants[0].members[1].sub" in response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"query_periods": []}, "query_periods"),
        (
            {
                "query_periods": [
                    {"start": text(9), "end": text(9, day=DAY + dt.timedelta(days=36))}
                ]
            },
            "query_periods",
        ),
        (
            {"query_periods": [{"start": text(9), "end": text(9, 30)}] * 51},
            "query_periods",
        ),
        ({"query_periods": [{"start": text(10), "end": text(9)}]}, "query_periods[0]"),
        ({"query_periods": [{"start": "2030-01-08T09:00:00", "end": text(10)}]}, None),
        ({"required_duration": {"minutes": 0}}, "required_duration.minutes"),
        ({"start_interval": {"minutes": 7}}, "start_interval.minutes"),
        ({"max_results": 513}, "max_results"),
        ({"response_format": "hours"}, "response_format"),
        ({"buffer": {"before": {"minutes": -5}}}, "buffer.before.minutes"),
    ],
    ids=[
        "no-periods",
        "span-over-35-days",
        "over-50-periods",
        "end-before-start",
        "time-without-offset",
        "zero-duration",
        "odd-start-interval",
        "too-many-results",
        "unknown-format",
        "negative-buffer",
    ],
)
def test_requests_past_the_limits_are_422(
    api_client: TestClient,
    tenant: ApiApplication,
    alice: ApiAccount,
    change: dict[str, Any],
    field: str | None,
) -> None:
    response = post(api_client, tenant, query(group(alice), **change))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field is None or field in errors, errors
    assert all(item["key"].startswith("errors.") for items in errors.values() for item in items)


def test_required_more_than_the_group_has_is_422(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    response = post(api_client, tenant, query(group(alice, required=2)))
    assert response.status_code == 422
    assert "participants[0].required" in response.json()["errors"]


def test_a_managed_member_without_rules_is_never_free(
    api_client: TestClient, tenant: ApiApplication, alice: ApiAccount
) -> None:
    body = query(group({"sub": alice.id, "managed_availability": True}))
    response = post(api_client, tenant, body)
    assert response.status_code == 200
    assert response.json()["available_periods"] == []
