"""Series masters of sparse calendarView occurrences, read by Microsoft Graph JSON batching.

A delta page's occurrences carry little more than their ``seriesMasterId``; the rest
lives on the series master. A master listed in the page is used as it is; the ones a
page refers to but does not list are read with ``POST $batch`` (up to
``MAX_BATCH_REQUESTS`` GETs in one round trip, learn.microsoft.com/graph/json-batching),
each at most once per sync. Graph answers every batched request on its own, in any
order (matched here by ``id``), with its own status: a 404/400 master is gone (its
occurrences are kept as sent), a 429 (with its own ``Retry-After``) or 5xx one is
asked again, alone with the others still missing, under the adapter's retry policy. A
``$batch`` endpoint that refuses (400/404/405/501: a proxy or a national cloud without
it) sends the rest of the sync back to one GET per master; so does a single missing
master, for which a batch saves nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from requests.structures import CaseInsensitiveDict

from providers.base import InvalidRemoteData, NotFound, RateLimited, TransientError
from providers.microsoft.errors import BadRequest, http_error
from providers.microsoft.mapping import is_series_master, series_master_of, with_series

log = logging.getLogger("providers.microsoft")

#: Graph's documented limit of requests in one JSON batch.
MAX_BATCH_REQUESTS = 20
#: Statuses of the ``$batch`` request itself that mean "no batching here".
BATCH_REFUSED = frozenset({400, 404, 405, 501})
#: The zone every read asks Graph to give times in.
UTC_PREFERENCE = 'outlook.timezone="UTC"'


class BatchRefused(Exception):
    """The ``$batch`` endpoint itself answered one of ``BATCH_REFUSED``."""


class SendOnce(Protocol):
    """One Graph request, not retried (the adapter's ``_send_once``)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        prefer: str | None = None,
        refused: frozenset[int] = ...,
    ) -> dict[str, Any] | None: ...


class SeriesMasters:
    """The series masters of one sync: those listed, those read, ``None`` for gone ones."""

    def __init__(
        self,
        calendar_id: str,
        send_once: SendOnce,
        retrying: Callable[[Callable[[], Any]], Any],
        *,
        batching: bool = True,
    ) -> None:
        self.known: dict[str, dict[str, Any] | None] = {}
        self.batching = batching
        self._events_path = f"me/calendars/{quote(calendar_id, safe='')}/events/"
        self._send_once = send_once
        self._retrying = retrying

    def complete(self, items: list[Any]) -> list[Any]:
        """The page's items with sparse occurrences completed from their series masters,
        which :meth:`note` and :meth:`read` took in beforehand (``delta.delta_groups``).

        A master listed in the page is not passed on: calendarView serves its occurrences.
        """
        completed: list[Any] = []
        for item in items:
            if is_series_master(item):
                continue
            master_id = series_master_of(item)
            master = self.known.get(master_id) if master_id else None
            completed.append(with_series(item, master) if master is not None else item)
        return completed

    def note(self, items: list[Any]) -> list[str]:
        """Take the masters ``items`` list; returns the ids of those they refer to that
        are not known yet (to :meth:`read`, for these items and maybe later ones)."""
        for item in items:
            if is_series_master(item):
                self.known[str(item.get("id"))] = item
        missing: dict[str, None] = {}
        for item in items:
            master_id = None if is_series_master(item) else series_master_of(item)
            if master_id and master_id not in self.known:
                missing[master_id] = None
        return list(missing)

    def read(self, master_ids: list[str]) -> None:
        """Read ``master_ids`` (none of them known yet): by batches of up to 20, else one by one."""
        if len(master_ids) > 1 and self.batching:
            try:
                for start in range(0, len(master_ids), MAX_BATCH_REQUESTS):
                    self._read_batch(master_ids[start : start + MAX_BATCH_REQUESTS])
            except BatchRefused:
                log.info("Microsoft Graph refused $batch; series masters read one by one")
                self.batching = False
        for master_id in master_ids:
            if master_id not in self.known:
                self._read_one(master_id)

    def _path(self, master_id: str) -> str:
        return self._events_path + quote(master_id, safe="")

    def _read_one(self, master_id: str) -> None:
        path = self._path(master_id)
        try:
            self.known[master_id] = self._retrying(
                lambda: _required(self._send_once("GET", path, prefer=UTC_PREFERENCE))
            )
        except (NotFound, BadRequest):
            self._gone(master_id)

    def _read_batch(self, master_ids: list[str]) -> None:
        """One ``$batch`` of GETs, asked again (under the retry policy) for the items that
        were throttled or failed on the server, until every master is read or gone."""
        pending = {str(number): master_id for number, master_id in enumerate(master_ids, 1)}

        def round_trip() -> None:
            requests = [
                {
                    "id": request_id,
                    "method": "GET",
                    "url": "/" + self._path(master_id),
                    "headers": {"Prefer": UTC_PREFERENCE},
                }
                for request_id, master_id in pending.items()
            ]
            answer = self._send_once(
                "POST", "$batch", body={"requests": requests}, refused=BATCH_REFUSED
            )
            self._take_responses(answer, pending)

        self._retrying(round_trip)

    def _take_responses(self, answer: dict[str, Any] | None, pending: dict[str, str]) -> None:
        """Store what the batch answered; raise RateLimited/TransientError while any item
        is still to be asked again (``pending`` keeps only those)."""
        responses = (answer or {}).get("responses")
        if not isinstance(responses, list):
            raise InvalidRemoteData("Microsoft Graph answered $batch without responses")
        again: list[BaseException] = []
        for response in responses:
            if not isinstance(response, dict):
                continue
            request_id = str(response.get("id"))
            master_id = pending.get(request_id)
            if master_id is None:
                continue  # not one of ours, or already answered
            status = response.get("status")
            body = response.get("body")
            if status == 200 and isinstance(body, dict):
                self.known[master_id] = body
                del pending[request_id]
                continue
            status = status if isinstance(status, int) else 500
            headers = CaseInsensitiveDict(response.get("headers") or {})
            error = http_error(status, headers, _error_body(body))
            if isinstance(error, (NotFound, BadRequest)):
                self._gone(master_id)
                del pending[request_id]
            elif isinstance(error, (RateLimited, TransientError)):
                again.append(error)
            else:
                raise error
        if not pending:
            return
        if not again:  # some items got no response at all
            raise TransientError(f"Microsoft Graph left {len(pending)} batched reads unanswered")
        waits = [
            e.retry_after for e in again if isinstance(e, RateLimited) and e.retry_after is not None
        ]
        if waits:
            raise RateLimited(
                f"Microsoft Graph throttled {len(pending)} batched reads", retry_after=max(waits)
            )
        raise again[0]

    def _gone(self, master_id: str) -> None:
        log.warning("series master %r of an occurrence is gone; kept as sent", master_id)
        self.known[master_id] = None


def _required(payload: dict[str, Any] | None) -> dict[str, Any]:
    if payload is None:
        raise TransientError("Microsoft Graph answered a read with no body")
    return payload


def _error_body(body: Any) -> bytes | str | None:
    """A batched item's error body as ``http_error`` reads a response's."""
    if body is None:
        return None
    return body if isinstance(body, str) else json.dumps(body)
