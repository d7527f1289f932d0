"""/oauth/authorize's request rules (RFC 6749 §4.1.2.1, RFC 7636): which requests get an
error page, which are sent back to the application, and where a redirect may go."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from syncd.authorization.flow import (
    AUTHORIZE,
    Flow,
    RedirectWithError,
    add_flow,
    authorization_request,
    check_account,
    declined,
    with_query,
)
from syncd.errors import AuthorizationError
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.tenants import create_account, create_application

pytestmark = pytest.mark.store

REDIRECT = "https://app.example.com/cb?tenant=7"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.fixture
def client_id(engine: Engine, box: SecretBox) -> str:
    with session_scope(engine) as session:
        return create_application(session, box, "acme", [REDIRECT]).client_id


def request(engine: Engine, **query: str) -> Flow:
    with session_scope(engine) as session:
        return authorization_request(session, query)


def valid(client_id: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "read_account read_events",
        "state": "st-1",
        **extra,
    }


def test_a_valid_request_becomes_a_flow(engine: Engine, client_id: str) -> None:
    flow = request(engine, **valid(client_id, provider_name="apple", avoid_linking="true"))
    assert (flow.purpose, flow.redirect_uri, flow.state) == (AUTHORIZE, REDIRECT, "st-1")
    assert flow.scope == "read_account read_events"
    assert (flow.provider_hint, flow.avoid_linking) == ("apple", True)


def test_an_unknown_client_gets_an_error_page(engine: Engine, client_id: str) -> None:
    with pytest.raises(AuthorizationError, match="client_id"):
        request(engine, **valid("nope"))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/cb",
        "https://app.example.com/cb",  # the registered one without its query
        "https://app.example.com/cb?tenant=7&x=1",
        "https://app.example.com/cb?tenant=7#frag",
        "HTTPS://app.example.com/cb?tenant=7",
        "",
    ],
)
def test_a_redirect_uri_not_registered_exactly_gets_an_error_page_never_a_redirect(
    engine: Engine, client_id: str, redirect_uri: str
) -> None:
    with pytest.raises(AuthorizationError) as raised:
        request(engine, **valid(client_id, redirect_uri=redirect_uri, response_type="token"))
    assert not isinstance(raised.value, RedirectWithError)


def problem(engine: Engine, client_id: str, **extra: str) -> dict[str, list[str]]:
    with pytest.raises(RedirectWithError) as raised:
        request(engine, **valid(client_id, **extra))
    location = raised.value.location
    assert location.startswith("https://app.example.com/cb?")
    return parse_qs(urlsplit(location).query)


def test_a_wrong_response_type_goes_back_as_unsupported_response_type(
    engine: Engine, client_id: str
) -> None:
    query = problem(engine, client_id, response_type="token")
    assert query["error"] == ["unsupported_response_type"]
    assert (query["state"], query["tenant"]) == (["st-1"], ["7"])


def test_an_unknown_scope_goes_back_as_invalid_scope(engine: Engine, client_id: str) -> None:
    assert problem(engine, client_id, scope="read_everything")["error"] == ["invalid_scope"]


def test_an_empty_scope_goes_back_as_invalid_scope(engine: Engine, client_id: str) -> None:
    assert problem(engine, client_id, scope="")["error"] == ["invalid_scope"]


def test_pkce_plain_is_refused(engine: Engine, client_id: str) -> None:
    query = problem(engine, client_id, code_challenge=CHALLENGE, code_challenge_method="plain")
    assert query["error"] == ["invalid_request"]


def test_pkce_a_malformed_challenge_is_refused(engine: Engine, client_id: str) -> None:
    query = problem(engine, client_id, code_challenge="short", code_challenge_method="S256")
    assert query["error"] == ["invalid_request"]


def test_pkce_s256_is_kept_on_the_flow(engine: Engine, client_id: str) -> None:
    flow = request(
        engine, **valid(client_id, code_challenge=CHALLENGE, code_challenge_method="S256")
    )
    assert flow.code_challenge == CHALLENGE


def test_declining_echoes_the_state_and_keeps_the_redirect_query(
    engine: Engine, client_id: str
) -> None:
    query = parse_qs(urlsplit(declined(request(engine, **valid(client_id)))).query)
    assert query["error"] == ["access_denied"]
    assert (query["state"], query["tenant"]) == (["st-1"], ["7"])


def test_no_state_means_none_is_sent_back(engine: Engine, client_id: str) -> None:
    flow = request(engine, **valid(client_id, state=""))
    assert "state" not in parse_qs(urlsplit(declined(flow)).query)


def test_a_sealed_flow_opens_and_a_tampered_one_does_not(
    engine: Engine, client_id: str, box: SecretBox
) -> None:
    flow = request(engine, **valid(client_id))
    token = flow.seal(box)
    assert Flow.open(box, token) == flow
    with pytest.raises(AuthorizationError):
        Flow.open(box, token[:-4] + "AAAA")


def test_an_expired_flow_does_not_open(engine: Engine, client_id: str, box: SecretBox) -> None:
    flow = dataclasses.replace(request(engine, **valid(client_id)), expires_at=1.0)
    with pytest.raises(AuthorizationError, match="expired"):
        Flow.open(box, flow.seal(box))


def test_an_expired_authorize_flow_says_to_start_again_from_the_application(
    engine: Engine, client_id: str, box: SecretBox
) -> None:
    flow = dataclasses.replace(request(engine, **valid(client_id)), expires_at=1.0)
    with pytest.raises(AuthorizationError, match="from the application"):
        Flow.open(box, flow.seal(box))


def test_an_expired_add_flow_points_at_the_calendar_services_page(
    engine: Engine, box: SecretBox
) -> None:
    with session_scope(engine) as session:
        app = create_application(session, box, "acme").application
        ada = create_account(session, app.id, "ada@example.com")
        flow = dataclasses.replace(add_flow(ada), expires_at=1.0)
    with pytest.raises(AuthorizationError, match="Calendar Services page"):
        Flow.open(box, flow.seal(box))


def test_a_flow_is_refused_to_another_applications_account(
    engine: Engine, client_id: str, box: SecretBox
) -> None:
    flow = request(engine, **valid(client_id))
    with session_scope(engine) as session:
        other = create_application(session, box, "other").application
        stranger = create_account(session, other.id, "s@example.com")
        with pytest.raises(AuthorizationError, match="another application"):
            check_account(flow, stranger)


def test_an_add_flow_is_refused_to_another_account(engine: Engine, box: SecretBox) -> None:
    with session_scope(engine) as session:
        app = create_application(session, box, "acme").application
        ada = create_account(session, app.id, "ada@example.com")
        bob = create_account(session, app.id, "bob@example.com")
        with pytest.raises(AuthorizationError, match="another account"):
            check_account(add_flow(ada), bob)


def test_with_query_keeps_existing_parameters() -> None:
    assert with_query("https://a.example/cb?x=1", {"code": "c", "state": None}) == (
        "https://a.example/cb?x=1&code=c"
    )
