"""Account emails are validated, normalised and unique (ignoring case) per application."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from syncd.errors import ConflictError, UserError
from syncd.store.crypto import SecretBox
from syncd.store.db import session_scope
from syncd.store.tenants import create_account, create_application, list_accounts

pytestmark = pytest.mark.store


@pytest.fixture
def application_ids(engine: Engine, box: SecretBox) -> tuple[str, str]:
    with session_scope(engine) as session:
        first = create_application(session, box, "first").application.id
        second = create_application(session, box, "second").application.id
    return first, second


@pytest.mark.parametrize(
    "email", ["notanemail", "", "   ", "ada@", "@example.com", "a b@x.io", "ada@localhost"]
)
def test_what_is_not_an_address_is_refused(
    engine: Engine, application_ids: tuple[str, str], email: str
) -> None:
    with (
        pytest.raises(UserError, match="is not an email address"),
        session_scope(engine) as session,
    ):
        create_account(session, application_ids[0], email)


def test_the_address_is_trimmed_and_its_domain_lower_cased(
    engine: Engine, application_ids: tuple[str, str]
) -> None:
    with session_scope(engine) as session:
        account = create_account(session, application_ids[0], "  Ada.L@Example.COM ")
    assert account.email == "Ada.L@example.com"


def test_a_duplicate_differing_only_in_case_is_refused_within_an_application(
    engine: Engine, application_ids: tuple[str, str]
) -> None:
    first, second = application_ids
    with session_scope(engine) as session:
        original = create_account(session, first, "ada@example.com")
    with pytest.raises(ConflictError, match=original.id), session_scope(engine) as session:
        create_account(session, first, "ADA@example.com")
    with session_scope(engine) as session:
        create_account(session, second, "ada@example.com")  # another application: fine
        assert [a.id for a in list_accounts(session, first)] == [original.id]
