"""Webhook URL filter: IPv6 forms embedding IPv4, DNS rebinding, no resolved addresses
in refusals."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from syncd.config import Settings
from syncd.notify import delivery, urls
from syncd.notify.urls import validate_webhook_url, webhook_target

STRICT = Settings()


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]/hook",  # IPv4-compatible loopback
        "https://[::a9fe:a9fe]/hook",  # IPv4-compatible 169.254.169.254
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
        "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the metadata address
        "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "https://[64:ff9b:1::a00:1]/hook",  # local-use NAT64 of 10.0.0.1
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
        "https://[2002:c0a8:101::]/hook",  # 6to4 of 192.168.1.1
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_embedding_a_private_ipv4_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="private, loopback or link-local"):
        validate_webhook_url(url, STRICT)


def test_a_name_resolving_to_an_embedded_private_ipv4_is_refused() -> None:
    with pytest.raises(ValueError, match="private") as refused:
        validate_webhook_url(
            "https://rebind.example.com/", STRICT, resolve=lambda _h, _p: ["64:ff9b::a9fe:a9fe"]
        )
    assert "a9fe" not in str(refused.value) and "169.254" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::5db8:d822]/hook",  # NAT64 of 93.184.216.34
        "https://[2606:4700:4700::1111]/hook",
    ],
)
def test_ipv6_embedding_a_public_ipv4_or_plain_public_ipv6_is_accepted(url: str) -> None:
    assert validate_webhook_url(url, STRICT) == url


def test_the_target_pins_the_checked_address_and_keeps_the_host_name() -> None:
    target = webhook_target(
        "https://user:pw@Hooks.Example.com:8443/in?k=s", STRICT, lambda _h, _p: ["93.184.216.34"]
    )
    assert target.url == "https://user:pw@93.184.216.34:8443/in?k=s"
    assert target.headers == {"Host": "hooks.example.com:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.com"}


def test_an_ipv6_answer_is_pinned_as_a_bracketed_literal() -> None:
    target = webhook_target("https://hooks.example.com/", STRICT, lambda _h, _p: ["2606:4700::1"])
    assert target.url == "https://[2606:4700::1]/"


def test_allow_listed_and_literal_hosts_are_requested_as_given() -> None:
    allowed = Settings(webhook_allowed_hosts=["localhost"])
    assert webhook_target("http://localhost:9/x", allowed).url == "http://localhost:9/x"
    assert webhook_target("https://93.184.216.34/x", STRICT).url == "https://93.184.216.34/x"


def test_delivery_connects_to_the_checked_address_not_a_second_dns_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the first answer is public, every later one loopback. The delivery
    must go to the first (the one that was checked) and resolve only once."""
    answers = iter([["93.184.216.34"]])
    lookups: list[str] = []

    def rebinding(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return next(answers, ["127.0.0.1"])

    monkeypatch.setattr(urls, "resolve_host", rebinding)
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    message = delivery.Leased(
        id=1,
        application_id="app_1",
        delivery_id="del_1",
        url="https://hooks.example.com/in?secret=s",
        body="{}",
        attempts=0,
        created_at=dt.datetime.now(dt.UTC),
    )
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        result = delivery.attempt(client, STRICT, message, "whsec")
    assert result.delivered, result.error
    (request,) = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert lookups == ["hooks.example.com"]


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_a_pinned_delivery_still_speaks_tls_to_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real TLS on 127.0.0.1: SNI and the Host header carry the name, and the
    certificate (valid for the name only, not the address) verifies."""
    name = "hooks.example.test"
    cert_path, key_path = _self_signed(tmp_path, name)
    server_names: list[str | None] = []
    hosts: list[str | None] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda _sock, server_name, _ctx: server_names.append(server_name)
    server = HTTPServer(("127.0.0.1", 0), Hook)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setattr(urls, "resolve_host", lambda _h, _p: ["127.0.0.1"])
    monkeypatch.setattr(urls, "is_public_address", lambda _a: True)  # 127.0.0.1 stands in
    message = delivery.Leased(
        id=1,
        application_id="app_1",
        delivery_id="del_1",
        url=f"https://{name}:{port}/in",
        body="{}",
        attempts=0,
        created_at=dt.datetime.now(dt.UTC),
    )
    trust = ssl.create_default_context(cafile=str(cert_path))
    try:
        with httpx.Client(verify=trust, trust_env=False, timeout=10) as client:
            result = delivery.attempt(client, STRICT, message, "whsec")
    finally:
        server.shutdown()
        server.server_close()
    assert result.delivered, result.error
    assert server_names == [name]
    assert hosts == [f"{name}:{port}"]
