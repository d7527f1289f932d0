"""``sync --once``'s progress: pages and events as they arrive, log lines above the bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, cast

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from providers.base import CalendarProvider, ChangePage, RemoteCalendar
from syncd.config import Settings
from syncd.registry import build_provider

PageHook = Callable[[ChangePage], None]


class _PageReporter:
    """An adapter that reports every page of ``sync_events`` as the engine takes it."""

    def __init__(self, provider: CalendarProvider, on_page: PageHook) -> None:
        self._provider = provider
        self._on_page = on_page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def sync_events(self, calendar: RemoteCalendar, cursor: str | None) -> Iterator[ChangePage]:
        for page in self._provider.sync_events(calendar, cursor):
            self._on_page(page)
            yield page


def reporting_factory(
    on_page: PageHook,
) -> Callable[[Settings, str, dict[str, Any]], CalendarProvider]:
    """A ``SyncContext.provider_factory``: the registry's adapters, reporting pages."""

    def build(settings: Settings, name: str, credentials: dict[str, Any]) -> CalendarProvider:
        reporter = _PageReporter(build_provider(settings, name, credentials), on_page)
        return cast("CalendarProvider", reporter)

    return build


class SyncProgress:
    """A bar over the profiles, with the pages and events synced so far and the profile
    being synced; while it is shown, log lines print above it instead of over it."""

    def __init__(self, console: Console, profiles: int) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[pages]} pages, {task.fields[events]} events"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("syncing", total=profiles, pages=0, events=0)
        self._pages = self._events = 0

    def __enter__(self) -> SyncProgress:
        # The live display now owns sys.stderr, which is where the log handler writes
        # each record (``syncd.logs.CurrentStderrHandler``): log lines print above it.
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, error, traceback)

    def started(self, profile_id: str) -> None:
        self._progress.update(self._task, description=f"syncing {profile_id}")

    def page(self, page: ChangePage) -> None:
        self._pages += 1
        self._events += len(page.upserts) + len(page.deletions)
        self._progress.update(self._task, pages=self._pages, events=self._events)

    def finished(self, _outcome: object) -> None:
        self._progress.advance(self._task)
