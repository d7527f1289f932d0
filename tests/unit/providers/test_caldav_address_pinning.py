"""A CalDAV server an end user named is held to public addresses at every connect.

The name was checked when it was given; these tests prove the check happens again in
the connection itself, against the one answer the connection then uses (no second DNS
lookup to rebind), and that nothing is sent when it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from providers.caldav import CalDAVProvider
from providers.caldav.pinning import (
    PUBLIC_ADDRESSES_ONLY,
    PublicAddressesOnly,
    checked_addresses,
)
from providers.errors import UntrustedHost
from public_addresses import IPAddress
from syncd.sync import connect
from tests.unit.providers.test_caldav_credential_scope import DavServer, _multistatus


def answering(*addresses: str) -> Callable[[str, int], list[str]]:
    calls: list[str] = []

    def resolve(host: str, _port: int) -> list[str]:
        calls.append(host)
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def loopback_counts_as_public(address: IPAddress) -> bool:
    return address.is_loopback  # 127.0.0.1 stands in for a public server


@pytest.fixture
def dav() -> Iterator[DavServer]:
    server = DavServer(lambda handler: _multistatus(handler, "/principal/"))
    yield server
    server.close()


def test_a_name_resolving_to_loopback_is_refused_naming_the_host_not_the_address() -> None:
    with pytest.raises(UntrustedHost, match="caldav.example.com") as refused:
        checked_addresses("caldav.example.com", 443, answering("127.0.0.1"))
    assert "127.0.0.1" not in str(refused.value)


def test_one_private_address_among_public_ones_is_refused() -> None:
    with pytest.raises(UntrustedHost):
        checked_addresses("caldav.example.com", 443, answering("93.184.216.34", "10.0.0.7"))


def test_an_ipv6_address_embedding_a_private_ipv4_is_refused() -> None:
    with pytest.raises(UntrustedHost):
        checked_addresses("caldav.example.com", 443, answering("64:ff9b::a9fe:a9fe"))


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def fails(_host: str, _port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(UntrustedHost, match="does not resolve"):
        checked_addresses("nowhere.example.com", 443, fails)


def test_a_connection_goes_to_the_checked_address_without_a_second_lookup(
    dav: DavServer,
) -> None:
    resolve = answering("127.0.0.1")
    session = requests.Session()
    session.mount("http://", PublicAddressesOnly(resolve, loopback_counts_as_public))
    # ``.invalid`` never resolves through the system: only the checked answer can be used.
    response = session.request("PROPFIND", f"http://caldav.invalid:{dav.port}/", timeout=5)
    assert response.status_code == 207
    assert resolve.calls == ["caldav.invalid"]  # type: ignore[attr-defined]
    assert len(dav.requests) == 1


def test_a_name_rebound_to_a_private_address_gets_no_request(dav: DavServer) -> None:
    provider = CalDAVProvider(
        {
            "url": f"http://caldav.invalid:{dav.port}/",
            "username": "alice",
            "password": "s3cret",
            PUBLIC_ADDRESSES_ONLY: True,
        },
        timeout=5,
        resolve=answering("127.0.0.1"),  # public when it was checked, loopback now
    )
    provider.retry_attempts = 1
    with pytest.raises(UntrustedHost, match="caldav.invalid"):
        provider.list_calendars()
    assert dav.requests == []


def test_without_the_flag_an_operator_configured_lan_server_is_reached(dav: DavServer) -> None:
    url = f"http://127.0.0.1:{dav.port}/"
    provider = CalDAVProvider({"url": url, "username": "alice", "password": "s3cret"}, timeout=5)
    assert provider._request("PROPFIND", url, depth="0").status_code == 207
    assert len(dav.requests) == 1


def test_syncd_sets_the_flag_the_adapter_reads() -> None:
    assert connect.PUBLIC_ADDRESSES_ONLY == PUBLIC_ADDRESSES_ONLY
