"""``syncd apps``: OAuth client ids, redirect URIs and webhook signing, with ``--json``."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.cli import CliResult, run_cli

__all__ = ["run_cli"]  # fixture from tests/support/cli.py

APP_URI = "https://app.example.com/cb"


def created(run_cli: Callable[..., CliResult], *args: str) -> dict[str, object]:
    status, output, error = run_cli("apps", "create", "acme", *args, "--json")
    assert status == 0, error
    return dict(json.loads(output))


def test_apps_create_json_prints_client_id_secret_and_redirect_uris(
    run_cli: Callable[..., CliResult],
) -> None:
    app = created(run_cli, "--redirect-uri", APP_URI, "--redirect-uri", "http://127.0.0.1:9/cb")
    assert str(app["application_id"]).startswith("app_")
    assert str(app["client_secret"]).startswith("sk_")
    assert app["client_id"] and app["webhook_secret"]
    assert app["redirect_uris"] == [APP_URI, "http://127.0.0.1:9/cb"]
    assert app["webhook_signing"] == "client_secret"


def test_apps_show_finds_the_app_by_client_id_and_shows_no_secret(
    run_cli: Callable[..., CliResult],
) -> None:
    app = created(run_cli, "--redirect-uri", APP_URI)
    status, output, _ = run_cli("apps", "show", str(app["client_id"]), "--json")
    assert status == 0
    shown = json.loads(output)
    assert shown["application_id"] == app["application_id"]
    assert str(app["client_secret"]) not in output and str(app["webhook_secret"]) not in output


def test_redirect_uris_are_added_removed_and_replaced(run_cli: Callable[..., CliResult]) -> None:
    created(run_cli, "--redirect-uri", APP_URI)
    status, output, _ = run_cli(
        "apps", "redirect-uris", "acme", "--add", "https://b.example.com/cb", "--json"
    )
    assert json.loads(output)["redirect_uris"] == [APP_URI, "https://b.example.com/cb"]
    status, output, _ = run_cli("apps", "redirect-uris", "acme", "--remove", APP_URI, "--json")
    assert json.loads(output)["redirect_uris"] == ["https://b.example.com/cb"]
    status, output, _ = run_cli(
        "apps", "redirect-uris", "acme", "--set", "https://c.example.com/x", "--json"
    )
    assert json.loads(output)["redirect_uris"] == ["https://c.example.com/x"]


def test_an_http_redirect_uri_to_another_host_is_refused(
    run_cli: Callable[..., CliResult],
) -> None:
    status, _, error = run_cli(
        "apps", "create", "acme", "--redirect-uri", "http://app.example.com/"
    )
    assert status == 2
    assert "use https" in error


def test_a_redirect_uri_with_a_fragment_is_refused(run_cli: Callable[..., CliResult]) -> None:
    status, _, error = run_cli("apps", "create", "acme", "--redirect-uri", f"{APP_URI}#x")
    assert (status, "fragment" in error) == (2, True)


def test_webhook_signing_can_be_switched_to_the_webhook_secret(
    run_cli: Callable[..., CliResult],
) -> None:
    created(run_cli)
    status, output, _ = run_cli("apps", "webhook-signing", "acme", "webhook_secret")
    assert status == 0
    status, output, _ = run_cli("apps", "show", "acme", "--json")
    assert json.loads(output)["webhook_signing"] == "webhook_secret"


def test_rotate_key_json_names_the_new_and_older_keys(run_cli: Callable[..., CliResult]) -> None:
    created(run_cli)
    status, output, _ = run_cli("apps", "rotate-key", "acme", "--json")
    rotated = json.loads(output)
    assert (rotated["key_id"], rotated["older_valid_key_ids"]) == (2, [1])
    assert rotated["client_secret"].startswith("sk_")


def test_accounts_create_and_token_take_json(run_cli: Callable[..., CliResult]) -> None:
    created(run_cli)
    status, output, _ = run_cli(
        "accounts", "create", "--app", "acme", "--email", "ada@example.com", "--json"
    )
    sub = json.loads(output)["sub"]
    status, output, _ = run_cli("accounts", "token", sub, "--json")
    token = json.loads(output)
    assert token["sub"] == sub and token["access_token"].startswith("at_")
    assert token["expires_in"] is None
    status, output, _ = run_cli("accounts", "token", sub, "--revoke", "--json")
    assert json.loads(output) == {"sub": sub, "revoked": 1}


def test_apps_list_shows_client_ids(run_cli: Callable[..., CliResult]) -> None:
    app = created(run_cli)
    status, output, _ = run_cli("apps", "list", "--json")
    assert [row["client_id"] for row in json.loads(output)] == [app["client_id"]]
