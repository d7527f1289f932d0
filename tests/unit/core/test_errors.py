"""The one error taxonomy (``syncd.errors``) and its two mappings to output.

The CLI turns any deliberate error into one line on stderr and exit status 2; the API
answers each ``UserError`` with its status, headers and Cronofy body, and anything else
(operator errors included) with a bare, logged 500.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from providers.base import TransientError
from syncd import cli
from syncd.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    FieldErrors,
    ForbiddenError,
    NotFoundError,
    OperatorError,
    SecretBoxError,
    ServiceUnavailableError,
    SyncdError,
    UserError,
    invalid,
)

# --------------------------------------------------------------------------- CLI


@pytest.fixture
def keys_generate_raising(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[BaseException], tuple[int, str, str]]:
    """Runs ``syncd keys generate`` (no database needed) with key generation raising
    ``error``; returns (exit status, stdout, stderr)."""

    def run(error: BaseException) -> tuple[int, str, str]:
        def fail() -> str:
            raise error

        monkeypatch.setattr(cli.tenants, "generate_key", fail)
        monkeypatch.setattr(sys, "argv", ["syncd", "keys", "generate"])
        capsys.readouterr()
        try:
            cli.main()
            status = 0
        except SystemExit as done:
            status = int(done.code or 0)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_the_cli_prints_a_user_error_as_one_line_and_exits_2(
    keys_generate_raising: Callable[[BaseException], tuple[int, str, str]],
) -> None:
    status, output, error = keys_generate_raising(
        NotFoundError("no application 'acme'", code="whatever")
    )
    assert (status, output, error) == (2, "", "error: no application 'acme'\n")


def test_the_cli_prints_an_operator_error_as_one_line_and_exits_2(
    keys_generate_raising: Callable[[BaseException], tuple[int, str, str]],
) -> None:
    status, _, error = keys_generate_raising(SecretBoxError("no encryption key configured"))
    assert (status, error) == (2, "error: no encryption key configured\n")


def test_the_cli_prints_field_errors_as_one_line_naming_the_fields(
    keys_generate_raising: Callable[[BaseException], tuple[int, str, str]],
) -> None:
    status, _, error = keys_generate_raising(invalid("timezone", "errors.invalid", "unknown"))
    assert (status, error) == (2, "error: timezone: unknown\n")


def test_the_cli_prints_an_adapter_error_as_one_line_and_exits_2(
    keys_generate_raising: Callable[[BaseException], tuple[int, str, str]],
) -> None:
    status, _, error = keys_generate_raising(TransientError("the server answered 503"))
    assert status == 2
    assert error.startswith("error: ") and error.count("\n") == 1


def test_the_cli_does_not_hide_a_bug_behind_exit_2(
    keys_generate_raising: Callable[[BaseException], tuple[int, str, str]],
) -> None:
    with pytest.raises(KeyError):
        keys_generate_raising(KeyError("a bug"))


# --------------------------------------------------------------------------- API

#: ``get(error)``: the answer to a request whose handler raises ``error``.
RaisingGet = Callable[[BaseException], httpx.Response]


@pytest.fixture
def raising_client(api_app: FastAPI) -> Iterator[RaisingGet]:
    """``get(error)``: the response to a request whose handler raises ``error``."""
    raised: list[BaseException] = []

    def explode() -> None:
        raise raised[-1]

    api_app.add_api_route("/raise", explode)
    with TestClient(api_app, raise_server_exceptions=False) as client:

        def get(error: BaseException) -> httpx.Response:
            raised.append(error)
            response: httpx.Response = client.get("/raise")
            return response

        yield get


def _answer(response: httpx.Response) -> tuple[int, object]:
    return response.status_code, response.json()


def test_a_not_found_error_is_a_404_with_its_description(
    raising_client: RaisingGet,
) -> None:
    assert _answer(raising_client(NotFoundError("no channel 'chn_x'"))) == (
        404,
        {"error": "not_found", "description": "no channel 'chn_x'"},
    )


def test_an_authentication_error_is_a_401_with_its_challenge_header(
    raising_client: RaisingGet,
) -> None:
    response = raising_client(
        AuthenticationError(
            "the credentials are not recognised", headers={"WWW-Authenticate": "Bearer"}
        )
    )
    assert _answer(response) == (
        401,
        {"error": "unauthorized", "description": "the credentials are not recognised"},
    )
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_forbidden_error_is_a_403(
    raising_client: RaisingGet,
) -> None:
    assert _answer(raising_client(ForbiddenError("use the account's token"))) == (
        403,
        {"error": "forbidden", "description": "use the account's token"},
    )


def test_a_conflict_error_is_a_409(
    raising_client: RaisingGet,
) -> None:
    assert _answer(raising_client(ConflictError("already revoked"))) == (
        409,
        {"error": "conflict", "description": "already revoked"},
    )


def test_a_service_unavailable_error_is_a_503(
    raising_client: RaisingGet,
) -> None:
    assert _answer(raising_client(ServiceUnavailableError("the database is busy"))) == (
        503,
        {"error": "service_unavailable", "description": "the database is busy"},
    )


def test_a_config_error_is_a_400_invalid_config(
    raising_client: RaisingGet,
) -> None:
    assert _answer(raising_client(ConfigError("workers: must be at least 1"))) == (
        400,
        {"error": "invalid_config", "description": "workers: must be at least 1"},
    )


def test_a_user_error_answers_with_the_code_and_status_its_raiser_narrowed(
    raising_client: RaisingGet,
) -> None:
    error = ForbiddenError("calendar cal_1 is read-only", code="calendar_readonly")
    assert _answer(raising_client(error)) == (
        403,
        {"error": "calendar_readonly", "description": "calendar cal_1 is read-only"},
    )


def test_field_errors_are_a_422_in_cronofy_field_shape(
    raising_client: RaisingGet,
) -> None:
    errors = FieldErrors()
    errors.add("to", "errors.invalid_time_pair", "to must be after from")
    errors.add("tzid", "errors.tzid_unrecognized", "unknown time zone")
    assert _answer(raising_client(errors)) == (
        422,
        {
            "errors": {
                "to": [{"key": "errors.invalid_time_pair", "description": "to must be after from"}],
                "tzid": [
                    {
                        "key": "errors.tzid_unrecognized",
                        "description": "unknown time zone",
                    }
                ],
            }
        },
    )


def test_an_operator_error_is_a_bare_500_that_does_not_leak_its_message(
    raising_client: RaisingGet,
) -> None:
    response = raising_client(OperatorError("stored secret cannot be decrypted"))
    assert _answer(response) == (
        500,
        {"error": "internal_error", "description": "internal server error"},
    )


# --------------------------------------------------------------------------- the hierarchy


def test_every_user_error_is_a_syncd_error_and_operator_errors_are_not_user_errors() -> None:
    for user_error in (
        ConfigError,
        AuthenticationError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        ServiceUnavailableError,
        FieldErrors,
    ):
        assert issubclass(user_error, UserError) and issubclass(user_error, SyncdError)
    assert issubclass(SecretBoxError, OperatorError)
    assert not issubclass(OperatorError, UserError)
