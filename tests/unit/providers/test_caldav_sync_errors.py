"""Issue 15, defect 3: how every CalDAV server says a sync-token is gone (RFC 6578 §3.2)."""

from __future__ import annotations

import pytest
import requests

from providers.base import CursorExpired, PermissionDenied, ProviderError
from providers.caldav import error_for_response
from providers.caldav.adapter import _raise_sync_report_error, _SyncCollectionUnsupported

VALID_SYNC_TOKEN = b'<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>'


def _response(status: int, body: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    return response


@pytest.mark.parametrize("status", [400, 403, 409, 412, 422])
def test_any_4xx_with_the_valid_sync_token_precondition_is_an_expired_cursor(status: int) -> None:
    with pytest.raises(CursorExpired):
        _raise_sync_report_error(_response(status, VALID_SYNC_TOKEN), "token-1")
    assert isinstance(error_for_response(_response(status, VALID_SYNC_TOKEN)), CursorExpired)


@pytest.mark.parametrize("status", [403, 409, 412])
def test_a_bare_403_409_412_to_a_token_is_an_expired_cursor(status: int) -> None:
    with pytest.raises(CursorExpired):
        _raise_sync_report_error(_response(status), "token-1")


@pytest.mark.parametrize("status", [400, 403, 405, 501])
def test_without_a_token_a_refusal_means_no_sync_collection(status: int) -> None:
    with pytest.raises(_SyncCollectionUnsupported):
        _raise_sync_report_error(_response(status), None)


def test_other_errors_keep_their_meaning() -> None:
    with pytest.raises(ProviderError) as raised:
        _raise_sync_report_error(_response(422, b"<error>nope</error>"), "token-1")
    assert not isinstance(raised.value, CursorExpired)
    assert isinstance(error_for_response(_response(403, b"forbidden")), PermissionDenied)
