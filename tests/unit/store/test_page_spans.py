"""Spans across pages: a page replaces the spans of every series it touches, including
rows that earlier pages stored, while rows it inserts itself have none to replace."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from providers.base import RemoteEvent
from syncd.store.crypto import SecretBox
from syncd.store.events import read_spans
from syncd.store.models import Occurrence
from tests.support.pages import FIRST, NOW, apply_pages, daily_master, moved_second_instance

pytestmark = pytest.mark.store


def _pages(engine: Engine, box: SecretBox, *pages: list[RemoteEvent]) -> list[dt.datetime]:
    apply_pages(engine, box, "cal_s", *pages)
    with Session(engine) as session:
        spans = read_spans(session, ["cal_s"], NOW, NOW + dt.timedelta(days=10))
        assert session.scalar(select(func.count()).select_from(Occurrence)) == len(spans)
    return [span.start for span in spans]


def test_an_override_on_a_later_page_replaces_the_instance_an_earlier_page_stored(
    engine: Engine, box: SecretBox
) -> None:
    starts = _pages(engine, box, [daily_master()], [moved_second_instance()])
    assert starts == [FIRST, FIRST + dt.timedelta(days=1, hours=2), FIRST + dt.timedelta(days=2)]


def test_a_series_inserted_with_its_override_in_one_page_has_each_span_once(
    engine: Engine, box: SecretBox
) -> None:
    starts = _pages(engine, box, [daily_master(), moved_second_instance()])
    assert starts == [FIRST, FIRST + dt.timedelta(days=1, hours=2), FIRST + dt.timedelta(days=2)]


def test_a_page_listing_a_stored_series_again_keeps_each_span_once(
    engine: Engine, box: SecretBox
) -> None:
    starts = _pages(engine, box, [daily_master()], [daily_master()])
    assert starts == [FIRST + dt.timedelta(days=day) for day in range(3)]
