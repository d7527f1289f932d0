"""Tenant isolation: application A's API key or account tokens never reach B's data.

B's ids are given to A's credentials on every endpoint; each answer must be the same one
an id that does not exist gets, and no B data may appear anywhere in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from syncd.api.paging import encode_page_token, token_keys
from syncd.conferencing.authorize import read_state, store_profile
from syncd.config import Settings
from syncd.scheduling.personal import TemplateFields, create_template
from syncd.store.db import session_scope
from syncd.store.models import Account, Event
from syncd.store.tenants import find_account
from tests.support.api import ApiAccount, ApiApplication, ApiWorld

START = dt.datetime(2030, 1, 8, 9, tzinfo=dt.UTC)


@dataclass
class Tenants:
    a: ApiApplication
    a_user: ApiAccount
    a_colleague: ApiAccount
    b: ApiApplication
    b_user: ApiAccount

    def b_secrets(self) -> list[str]:
        """B's data that must never appear in an answer to A (A may see the sub it named
        echoed back in an error, nothing more)."""
        return [self.b.id, *self.b_user.calendar_ids, *self.b_user.profile_ids, "b@example.com"]


def populated(world: ApiWorld, application: ApiApplication, email: str) -> ApiAccount:
    account = world.account(application, email)
    world.profile(account, name=email)
    calendar = world.calendar(account, f"{email} calendar")
    world.event(calendar, START, START + dt.timedelta(hours=1))
    return account


@pytest.fixture
def tenants(api_world: ApiWorld) -> Tenants:
    a = api_world.application("tenant-a")
    b = api_world.application("tenant-b")
    return Tenants(
        a=a,
        a_user=populated(api_world, a, "a@example.com"),
        a_colleague=populated(api_world, a, "a2@example.com"),
        b=b,
        b_user=populated(api_world, b, "b@example.com"),
    )


def availability_body(*subs: str, **member: Any) -> dict[str, Any]:
    return {
        "participants": [{"members": [{"sub": sub, **member} for sub in subs]}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2030-01-08T08:00:00Z", "end": "2030-01-08T18:00:00Z"}],
        "include_member_statuses": True,
    }


def free_busy_params(**extra: Any) -> dict[str, Any]:
    return {"tzid": "Etc/UTC", "from": "2030-01-01", "to": "2030-02-01"} | extra


def assert_no_b_data(tenants: Tenants, response: Any) -> None:
    for secret in tenants.b_secrets():
        assert secret not in response.text


def test_api_key_cannot_name_another_applications_account(
    api_client: TestClient, tenants: Tenants
) -> None:
    foreign = api_client.post(
        "/v1/availability", headers=tenants.a.auth(), json=availability_body(tenants.b_user.id)
    )
    unknown = api_client.post(
        "/v1/availability", headers=tenants.a.auth(), json=availability_body("acc_nobody")
    )
    assert foreign.status_code == unknown.status_code == 422
    assert list(foreign.json()["errors"]) == list(unknown.json()["errors"])
    assert "available_periods" not in foreign.json()
    assert "member_statuses" not in foreign.json()


def test_api_key_cannot_name_another_applications_calendar(
    api_client: TestClient, tenants: Tenants
) -> None:
    body = availability_body(tenants.a_user.id, calendar_ids=tenants.b_user.calendar_ids)
    response = api_client.post("/v1/availability", headers=tenants.a.auth(), json=body)
    assert response.status_code == 422
    assert "participants[0].members[0].calendar_ids" in response.json()["errors"]


def test_account_token_cannot_query_another_applications_account(
    api_client: TestClient, tenants: Tenants
) -> None:
    body = availability_body(tenants.b_user.id)
    response = api_client.post("/v1/availability", headers=tenants.a_user.auth(), json=body)
    assert response.status_code == 422
    assert_no_b_data(tenants, response)
    assert "member_statuses" not in response.json()


def test_account_token_cannot_query_a_colleagues_availability(
    api_client: TestClient, tenants: Tenants
) -> None:
    body = availability_body(tenants.a_colleague.id)
    response = api_client.post("/v1/availability", headers=tenants.a_user.auth(), json=body)
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/v1/calendars", "/v1/profiles", "/v1/userinfo", "/v1/account"])
def test_account_reads_show_only_the_callers_own_data(
    api_client: TestClient, tenants: Tenants, path: str
) -> None:
    response = api_client.get(path, headers=tenants.a_user.auth())
    assert response.status_code == 200
    assert tenants.a_user.calendar_ids[0] in response.text or path in (
        "/v1/profiles",
        "/v1/account",
    )
    assert tenants.a_user.profile_ids[0] in response.text or path == "/v1/account"
    assert tenants.a_user.id in response.text or path == "/v1/profiles"
    assert_no_b_data(tenants, response)
    assert tenants.b_user.id not in response.text
    assert tenants.a_colleague.calendar_ids[0] not in response.text


@pytest.mark.parametrize("path", ["/v1/calendars", "/v1/profiles", "/v1/userinfo", "/v1/account"])
def test_api_key_reads_no_account_data(api_client: TestClient, tenants: Tenants, path: str) -> None:
    response = api_client.get(path, headers=tenants.b.auth())
    assert response.status_code == 403
    assert tenants.a_user.id not in response.text


def test_free_busy_shows_only_the_callers_calendars(
    api_client: TestClient, tenants: Tenants
) -> None:
    response = api_client.get(
        "/v1/free_busy", headers=tenants.a_user.auth(), params=free_busy_params()
    )
    assert response.status_code == 200
    assert {b["calendar_id"] for b in response.json()["free_busy"]} == set(
        tenants.a_user.calendar_ids
    )


def test_free_busy_refuses_another_applications_calendar(
    api_client: TestClient, tenants: Tenants
) -> None:
    params = free_busy_params(**{"calendar_ids[]": tenants.b_user.calendar_ids})
    response = api_client.get("/v1/free_busy", headers=tenants.a_user.auth(), params=params)
    assert response.status_code == 422
    assert "free_busy" not in response.json()


def test_a_forged_page_token_naming_foreign_calendars_reveals_nothing(
    api_client: TestClient, tenants: Tenants
) -> None:
    token = encode_page_token(
        {
            "start": "2030-01-01T00:00:00+00:00",
            "end": "2030-02-01T00:00:00+00:00",
            "tzid": "Etc/UTC",
            "calendar_ids": tenants.b_user.calendar_ids,
            "localized_times": False,
            "page": 1,
        },
        token_keys(api_client.app.state.settings),  # type: ignore[attr-defined]
    )
    response = api_client.get(f"/v1/free_busy/pages/{token}", headers=tenants.a_user.auth())
    assert response.status_code == 422
    assert "free_busy" not in response.json()


def test_a_page_link_followed_by_another_account_shows_only_that_accounts_data(
    api_app: FastAPI, api_client: TestClient, api_world: ApiWorld, tenants: Tenants
) -> None:
    api_app.state.free_busy_page_size = 1
    api_world.event(
        tenants.b_user.calendar_ids[0],
        START + dt.timedelta(days=1),
        START + dt.timedelta(days=1, hours=1),
    )
    first = api_client.get(
        "/v1/free_busy", headers=tenants.b_user.auth(), params=free_busy_params()
    )
    next_page = first.json()["pages"]["next_page"]
    response = api_client.get(next_page, headers=tenants.a_user.auth())
    assert response.status_code == 200
    assert_no_b_data(tenants, response)


def open_channel(api_client: TestClient, account: ApiAccount) -> str:
    body = {"callback_url": "https://93.184.216.34/hook"}
    response = api_client.post("/v1/channels", headers=account.auth(), json=body)
    assert response.status_code == 200
    return str(response.json()["channel"]["channel_id"])


def test_channels_are_listed_only_to_their_own_account(
    api_client: TestClient, tenants: Tenants
) -> None:
    b_channel = open_channel(api_client, tenants.b_user)
    colleague_channel = open_channel(api_client, tenants.a_colleague)
    own = open_channel(api_client, tenants.a_user)
    response = api_client.get("/v1/channels", headers=tenants.a_user.auth())
    assert [c["channel_id"] for c in response.json()["channels"]] == [own]
    assert b_channel not in response.text and colleague_channel not in response.text


def test_another_applications_channel_cannot_be_closed(
    api_client: TestClient, tenants: Tenants
) -> None:
    b_channel = open_channel(api_client, tenants.b_user)
    foreign = api_client.delete(f"/v1/channels/{b_channel}", headers=tenants.a_user.auth())
    unknown = api_client.delete("/v1/channels/chn_nobody", headers=tenants.a_user.auth())
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"] == unknown.json()["error"]
    listed = api_client.get("/v1/channels", headers=tenants.b_user.auth()).json()["channels"]
    assert [c["channel_id"] for c in listed] == [b_channel]


def test_a_channel_cannot_filter_on_another_applications_calendar(
    api_client: TestClient, tenants: Tenants
) -> None:
    def attempt(calendar_ids: list[str]) -> Any:
        body = {
            "callback_url": "https://93.184.216.34/hook",
            "filters": {"calendar_ids": calendar_ids},
        }
        return api_client.post("/v1/channels", headers=tenants.a_user.auth(), json=body)

    foreign, unknown = attempt(tenants.b_user.calendar_ids), attempt(["cal_nobody"])
    assert foreign.status_code == unknown.status_code == 422
    assert list(foreign.json()["errors"]) == list(unknown.json()["errors"])
    assert list(foreign.json()["errors"]) == ["filters.calendar_ids"]
    assert "b@example.com" not in foreign.text


def test_events_cannot_be_written_or_deleted_in_another_applications_calendar(
    api_client: TestClient, tenants: Tenants
) -> None:
    body = {
        "event_id": "intrusion",
        "summary": "x",
        "start": "2030-01-08T09:00:00Z",
        "end": "2030-01-08T10:00:00Z",
    }
    foreign_calendar = tenants.b_user.calendar_ids[0]
    for method in ("POST", "DELETE"):
        foreign = api_client.request(
            method,
            f"/v1/calendars/{foreign_calendar}/events",
            headers=tenants.a_user.auth(),
            json=body,
        )
        unknown = api_client.request(
            method, "/v1/calendars/cal_nothere/events", headers=tenants.a_user.auth(), json=body
        )
        assert foreign.status_code == unknown.status_code == 404
        assert_no_b_data(tenants, foreign)
    colleague = api_client.post(
        f"/v1/calendars/{tenants.a_colleague.calendar_ids[0]}/events",
        headers=tenants.a_user.auth(),
        json=body,
    )
    assert colleague.status_code == 404


def test_events_read_only_the_callers_calendars(api_client: TestClient, tenants: Tenants) -> None:
    own = api_client.get("/v1/events", headers=tenants.a_user.auth(), params=free_busy_params())
    foreign = api_client.get(
        "/v1/events",
        headers=tenants.a_user.auth(),
        params=free_busy_params(**{"calendar_ids[]": tenants.b_user.calendar_ids}),
    )
    assert own.status_code == 200
    assert {e["calendar_id"] for e in own.json()["events"]} == set(tenants.a_user.calendar_ids)
    assert foreign.status_code == 422
    assert_no_b_data(tenants, own)


def test_a_forged_events_page_token_naming_foreign_calendars_reveals_nothing(
    api_client: TestClient, tenants: Tenants
) -> None:
    token = encode_page_token(
        {
            "start": "2030-01-01T00:00:00+00:00",
            "end": "2030-02-01T00:00:00+00:00",
            "tzid": "Etc/UTC",
            "calendar_ids": tenants.b_user.calendar_ids,
            "include_managed": True,
            "only_managed": False,
            "include_deleted": False,
            "last_modified": None,
            "page": 1,
        },
        token_keys(api_client.app.state.settings),  # type: ignore[attr-defined]
    )
    response = api_client.get(f"/v1/events/pages/{token}", headers=tenants.a_user.auth())
    assert response.status_code == 422
    assert "events" not in response.json()


def with_zoom_client(api_app: FastAPI) -> None:
    """Configure a Zoom OAuth client (no request reaches Zoom in these tests)."""
    settings = api_app.state.settings
    api_app.state.settings = settings.model_copy(
        update={
            "zoom": settings.zoom.model_copy(
                update={"client_id": "zoom-client", "authorize_url": "https://zoom.test/authorize"}
            )
        }
    )


def test_a_conferencing_authorization_link_only_ever_connects_the_callers_account(
    api_app: FastAPI, api_client: TestClient, tenants: Tenants
) -> None:
    with_zoom_client(api_app)
    body = {"redirect_uri": "https://a.example.com/done", "provider_name": "zoom"}
    response = api_client.post(
        "/v1/conferencing_service_authorizations", headers=tenants.a_user.auth(), json=body
    )
    assert response.status_code == 200
    url = response.json()["authorization_request"]["url"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    flow = read_state(api_app.state.box, state)
    assert (flow.account_id, flow.application_id) == (tenants.a_user.id, tenants.a.id)
    assert_no_b_data(tenants, response)
    as_application = api_client.post(
        "/v1/conferencing_service_authorizations", headers=tenants.b.auth(), json=body
    )
    assert as_application.status_code == 403


def test_another_applications_conferencing_profile_cannot_be_used(
    api_world: ApiWorld, api_client: TestClient, tenants: Tenants
) -> None:
    with session_scope(api_world.engine) as session:
        b_account = session.get(Account, tenants.b_user.id)
        assert b_account is not None
        b_profile = store_profile(session, api_world.box, b_account, "zoom", "b", {}).id
    body = {
        "event_id": "borrowed",
        "summary": "x",
        "start": "2030-01-08T09:00:00Z",
        "end": "2030-01-08T10:00:00Z",
    }
    answers = [
        api_client.post(
            f"/v1/calendars/{tenants.a_user.calendar_ids[0]}/events",
            headers=tenants.a_user.auth(),
            json=body | {"conferencing": {"profile_id": profile_id}},
        )
        for profile_id in (b_profile, "pro_nobody")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    assert b_profile not in answers[0].text


def test_another_applications_profile_cannot_be_revoked(
    api_client: TestClient, tenants: Tenants
) -> None:
    foreign = api_client.post(
        f"/v1/profiles/{tenants.b_user.profile_ids[0]}/revoke", headers=tenants.a_user.auth()
    )
    missing = api_client.post("/v1/profiles/pro_missing/revoke", headers=tenants.a_user.auth())
    assert (foreign.status_code, missing.status_code) == (404, 404)
    named = tenants.b_user.profile_ids[0]
    assert foreign.text.replace(named, "pro_missing") == missing.text  # only the id it named
    profiles = api_client.get("/v1/profiles", headers=tenants.b_user.auth()).json()["profiles"]
    assert profiles[0]["profile_connected"] is True


def test_a_colleagues_profile_cannot_be_revoked(api_client: TestClient, tenants: Tenants) -> None:
    response = api_client.post(
        f"/v1/profiles/{tenants.a_colleague.profile_ids[0]}/revoke", headers=tenants.a_user.auth()
    )
    assert response.status_code == 404
    profiles = api_client.get("/v1/profiles", headers=tenants.a_colleague.auth()).json()
    assert profiles["profiles"][0]["profile_connected"] is True


def test_another_applications_availability_rules_are_invisible(
    api_client: TestClient, tenants: Tenants
) -> None:
    rule = {
        "availability_rule_id": "b-rule",
        "tzid": "Etc/UTC",
        "weekly_periods": [{"day": "monday", "start_time": "09:00", "end_time": "10:00"}],
    }
    assert (
        api_client.post(
            "/v1/availability_rules", headers=tenants.b_user.auth(), json=rule
        ).status_code
        == 200
    )
    mine = api_client.get("/v1/availability_rules", headers=tenants.a_user.auth())
    assert mine.json() == {"availability_rules": []}
    one = api_client.get("/v1/availability_rules/b-rule", headers=tenants.a_user.auth())
    gone = api_client.delete("/v1/availability_rules/b-rule", headers=tenants.a_user.auth())
    assert (one.status_code, gone.status_code) == (404, 404)
    still = api_client.get("/v1/availability_rules/b-rule", headers=tenants.b_user.auth())
    assert still.status_code == 200


def test_sequenced_availability_cannot_name_another_applications_account(
    api_client: TestClient, tenants: Tenants
) -> None:
    def body(sub: str) -> dict[str, Any]:
        return {
            "sequence": [
                {
                    "sequence_id": "one",
                    "ordinal": 1,
                    "participants": [{"members": [{"sub": sub}]}],
                    "required_duration": {"minutes": 30},
                }
            ],
            "query_periods": [{"start": "2030-01-08T08:00:00Z", "end": "2030-01-08T18:00:00Z"}],
        }

    answers = [
        api_client.post("/v1/sequenced_availability", headers=tenants.a.auth(), json=body(sub))
        for sub in (tenants.b_user.id, "acc_nobody")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert list(answers[0].json()["errors"]) == list(answers[1].json()["errors"])
    assert_no_b_data(tenants, answers[0])


def b_event_uid(world: ApiWorld, tenants: Tenants) -> str:
    with session_scope(world.engine) as session:
        event = session.execute(
            select(Event).where(Event.calendar_id == tenants.b_user.calendar_ids[0])
        ).scalar_one()
        return f"evt_external_{event.id}"


def test_a_reply_cannot_reach_another_applications_event(
    api_client: TestClient, api_world: ApiWorld, tenants: Tenants
) -> None:
    body = {"status": "accepted"}
    b_uid = b_event_uid(api_world, tenants)
    foreign_calendar = api_client.post(
        f"/v1/calendars/{tenants.b_user.calendar_ids[0]}/events/{b_uid}/participation_status",
        headers=tenants.a_user.auth(),
        json=body,
    )
    unknown_calendar = api_client.post(
        f"/v1/calendars/cal_nothere/events/{b_uid}/participation_status",
        headers=tenants.a_user.auth(),
        json=body,
    )
    own_calendar = tenants.a_user.calendar_ids[0]
    foreign_event = api_client.post(
        f"/v1/calendars/{own_calendar}/events/{b_uid}/participation_status",
        headers=tenants.a_user.auth(),
        json=body,
    )
    unknown_event = api_client.post(
        f"/v1/calendars/{own_calendar}/events/evt_external_999999/participation_status",
        headers=tenants.a_user.auth(),
        json=body,
    )
    assert foreign_calendar.status_code == unknown_calendar.status_code == 404
    assert foreign_event.status_code == unknown_event.status_code == 422
    assert foreign_event.json() == unknown_event.json()
    for response in (foreign_calendar, foreign_event):
        assert_no_b_data(tenants, response)


def test_a_batch_entry_for_another_applications_calendar_is_an_unknown_calendar(
    api_client: TestClient, tenants: Tenants
) -> None:
    event = {"event_id": "x", "summary": "x", "start": "2030-01-08T09:00:00Z"}
    event["end"] = "2030-01-08T10:00:00Z"
    entries = [
        {"method": "POST", "relative_url": f"/v1/calendars/{cid}/events", "data": event}
        for cid in (tenants.b_user.calendar_ids[0], "cal_nothere")
    ]
    response = api_client.post("/v1/batch", headers=tenants.a_user.auth(), json={"batch": entries})
    assert response.status_code == 207
    foreign, unknown = response.json()["batch"]
    assert foreign == unknown
    assert foreign["status"] == 404
    assert_no_b_data(tenants, response)


def test_a_calendar_cannot_be_created_in_another_applications_profile(
    api_client: TestClient, tenants: Tenants
) -> None:
    foreign = api_client.post(
        "/v1/calendars",
        headers=tenants.a_user.auth(),
        json={"profile_id": tenants.b_user.profile_ids[0], "name": "x"},
    )
    unknown = api_client.post(
        "/v1/calendars", headers=tenants.a_user.auth(), json={"profile_id": "pro_x", "name": "x"}
    )
    assert foreign.status_code == unknown.status_code == 422
    assert foreign.json() == unknown.json()
    assert_no_b_data(tenants, foreign)


def test_delete_all_cannot_name_another_applications_calendar(
    api_client: TestClient, tenants: Tenants
) -> None:
    foreign = api_client.request(
        "DELETE",
        "/v1/events",
        headers=tenants.a_user.auth(),
        params={"calendar_ids[]": tenants.b_user.calendar_ids},
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"]["calendar_ids"][0]["key"] == "errors.not_found"
    assert_no_b_data(tenants, foreign)


def test_a_scheduling_link_cannot_use_or_reach_another_applications_data(
    api_client: TestClient, tenants: Tenants
) -> None:
    def body(sub: str, calendar_id: str) -> dict[str, Any]:
        return {
            "oauth": {"redirect_uri": "https://app.example.com/done"},
            "event": {"summary": "x"},
            "availability": availability_body(sub),
            "target_calendars": [{"sub": sub, "calendar_id": calendar_id}],
        }

    foreign = api_client.post(
        "/v1/real_time_scheduling",
        headers=tenants.a.auth(),
        json=body(tenants.b_user.id, tenants.b_user.calendar_ids[0]),
    )
    assert foreign.status_code == 422
    assert_no_b_data(tenants, foreign)
    b_link = api_client.post(
        "/v1/real_time_scheduling",
        headers=tenants.b.auth(),
        json=body(tenants.b_user.id, tenants.b_user.calendar_ids[0]),
    ).json()["real_time_scheduling"]["real_time_scheduling_id"]
    read = api_client.get(f"/v1/real_time_scheduling/{b_link}", headers=tenants.a.auth())
    disable = api_client.post(
        f"/v1/real_time_scheduling/{b_link}/disable",
        headers=tenants.a.auth(),
        json={"display_message": "gone"},
    )
    assert (read.status_code, disable.status_code) == (404, 404)


def test_personalized_links_cannot_be_made_or_listed_for_another_applications_account(
    api_client: TestClient, api_world: ApiWorld, settings: Settings, tenants: Tenants
) -> None:
    with session_scope(api_world.engine) as session:
        b_account = find_account(session, tenants.b_user.id)
        fields = TemplateFields("Intro", 30, tenants.b_user.calendar_ids[0])
        template_id = create_template(session, settings, b_account, fields).id
    body = {"template_id": template_id, "recipient": {"email": "x@example.com"}}
    by_key = api_client.post(
        "/v1/personalized_links", headers=tenants.a.auth(), json={**body, "sub": tenants.b_user.id}
    )
    by_token = api_client.post("/v1/personalized_links", headers=tenants.a_user.auth(), json=body)
    listed = api_client.get(
        "/v1/personalized_links/templates",
        headers=tenants.a.auth(),
        params={"sub": tenants.b_user.id},
    )
    assert (by_key.status_code, by_token.status_code, listed.status_code) == (404, 404, 404)
    assert_no_b_data(tenants, by_token)


def test_a_password_invite_cannot_be_made_for_another_applications_account(
    api_client: TestClient, tenants: Tenants
) -> None:
    answer = api_client.post(
        f"/v1/accounts/{tenants.b_user.id}/password_invite", headers=tenants.a.auth()
    )
    missing = api_client.post("/v1/accounts/acc_missing/password_invite", headers=tenants.a.auth())
    assert (answer.status_code, missing.status_code) == (404, 404)
    assert_no_b_data(tenants, answer)


def test_every_v1_endpoint_is_covered_here(api_app: FastAPI) -> None:
    """A new /v1 endpoint must come with its cross-tenant tests in this module."""
    covered = {
        "/v1/availability",
        "/v1/calendars",
        "/v1/profiles",
        "/v1/userinfo",
        "/v1/account",
        "/v1/profiles/{profile_id}/revoke",
        "/v1/free_busy",
        "/v1/free_busy/pages/{page_token}",
        "/v1/events",
        "/v1/events/pages/{page_token}",
        "/v1/calendars/{calendar_id}/events",
        "/v1/channels",
        "/v1/channels/{channel_id}",
        "/v1/conferencing_service_authorizations",
        "/v1/availability_rules",
        "/v1/availability_rules/{availability_rule_id}",
        "/v1/sequenced_availability",
        "/v1/batch",
        "/v1/calendars/{calendar_id}/events/{event_uid}/participation_status",
        "/v1/real_time_scheduling",
        "/v1/real_time_scheduling/{real_time_scheduling_id}",
        "/v1/real_time_scheduling/{real_time_scheduling_id}/disable",
        "/v1/personalized_links",
        "/v1/personalized_links/templates",
        "/v1/accounts/{account_id}/password_invite",
    }
    served = {path for path in api_app.openapi()["paths"] if path.startswith("/v1/")}
    assert served <= covered, f"add cross-tenant tests for {sorted(served - covered)}"
