"""Which webhook URLs syncd accepts: https to public addresses, unless allow-listed."""

from __future__ import annotations

import socket

import pytest

from syncd.config import Settings, load_settings
from syncd.notify.urls import validate_webhook_url

STRICT = Settings()
DEVELOPMENT = Settings(webhook_allowed_hosts=["127.0.0.1", "localhost", "10.20.0.0/16"])


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    """A stand-in for DNS: every name resolves to ``addresses`` (no network in tests)."""

    def resolve(_host: str, _port: int) -> list[str]:
        return list(addresses)

    return resolve


def unresolvable(host: str, _port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, f"{host} not known")


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "https://[2606:4700:4700::1111]:8443/hook?x=1",
    ],
)
def test_https_to_a_public_address_is_accepted(url: str) -> None:
    assert validate_webhook_url(url, STRICT) == url


def test_a_name_resolving_only_to_public_addresses_is_accepted() -> None:
    url = "https://hooks.example.com/cronofy"
    assert validate_webhook_url(url, STRICT, resolve=resolver("93.184.216.34")) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="private, loopback or link-local"):
        validate_webhook_url(url, STRICT)


def test_localhost_is_refused_because_it_resolves_to_loopback() -> None:
    with pytest.raises(ValueError, match="private, loopback or link-local"):
        validate_webhook_url("https://localhost:8443/hook", STRICT)


def test_a_name_with_any_private_address_is_refused_without_naming_it() -> None:
    with pytest.raises(ValueError, match="private, loopback or link-local") as refused:
        validate_webhook_url(
            "https://sneaky.example.com/", STRICT, resolve=resolver("93.184.216.34", "10.0.0.7")
        )
    assert "10.0.0.7" not in str(refused.value)  # would map internal DNS for the caller


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(ValueError, match="does not resolve"):
        validate_webhook_url("https://nowhere.invalid/", STRICT, resolve=unresolvable)


def test_plain_http_is_refused_even_to_a_public_address() -> None:
    with pytest.raises(ValueError, match="must use https"):
        validate_webhook_url("http://93.184.216.34/hook", STRICT)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "http://localhost:9000/",
        "http://LOCALHOST./",
        "http://10.20.3.4/hook",
    ],
)
def test_allow_listed_hosts_may_use_http_and_private_addresses(url: str) -> None:
    assert validate_webhook_url(url, DEVELOPMENT) == url


def test_the_allow_list_does_not_open_other_private_hosts() -> None:
    with pytest.raises(ValueError, match="must use https"):
        validate_webhook_url("http://10.21.0.1/hook", DEVELOPMENT)
    with pytest.raises(ValueError, match="private"):
        validate_webhook_url("https://10.21.0.1/hook", DEVELOPMENT)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "required"),
        ("ftp://93.184.216.34/x", "https://"),
        ("https:///path-only", "no host"),
        ("https://93.184.216.34:99999/", "not a valid URL"),
        ("hooks.example.com/cronofy", "https://"),
        ("https://93.184.216.34/" + "x" * 3000, "longer than"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_webhook_url(url, STRICT)


def test_the_allow_list_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1, localhost")
    assert load_settings().webhook_allowed_hosts == ["127.0.0.1", "localhost"]


HTTP_ALLOWED = Settings(webhook_allow_http=True)


def test_webhook_allow_http_accepts_plain_http_to_a_public_address() -> None:
    url = "http://hooks.example.com/cronofy"
    assert validate_webhook_url(url, HTTP_ALLOWED, resolver("93.184.216.34")) == url


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/hook", "http://10.0.0.5/hook", "http://[::ffff:127.0.0.1]/"]
)
def test_webhook_allow_http_still_refuses_private_addresses(url: str) -> None:
    with pytest.raises(ValueError, match="private, loopback or link-local"):
        validate_webhook_url(url, HTTP_ALLOWED)


def test_webhook_allow_http_checks_the_address_of_port_80() -> None:
    seen: list[int] = []

    def resolve(_host: str, port: int) -> list[str]:
        seen.append(port)
        return ["93.184.216.34"]

    validate_webhook_url("http://hooks.example.com/", HTTP_ALLOWED, resolve)
    assert seen == [80]
