"""Time windows: which time ranges a run asks for, and the values its placeholders take in each.

A windowed run asks for the range from the saved cursor, less `lookback` (never before
`initial`), to `end` (now by default), split into windows of `window`. Its cursor is a time: the
end of the last window, saved only after the run's files, and never moved backwards. Ending at
the window's end rather than at the largest `cursor_field` seen is what keeps an empty window
from being asked for again forever, and what `lookback` re-reads behind for late data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fetcher.config import times
from fetcher.config.incremental import Incremental
from fetcher.errors import FetcherError


@dataclass(frozen=True)
class Window:
    """One time range a run asks the API for: from `start` (included) to `end`."""

    start: datetime
    end: datetime

    @property
    def values(self) -> dict[str, str]:
        """The placeholders' values: `{window_start}`, `{window_end}`, and `{cursor}` (the start)."""
        start = times.format_time(self.start)
        return {"window_start": start, "window_end": times.format_time(self.end), "cursor": start}

    def __str__(self) -> str:
        return f"{times.format_time(self.start)}..{times.format_time(self.end)}"


def split(start: datetime, end: datetime, length: timedelta | None) -> Iterator[Window]:
    """Successive windows of `length` (the last one shorter) from `start` to `end`; one if no length."""
    while start < end:
        stop = end if length is None else min(start + length, end)
        yield Window(start, stop)
        start = stop


def plan(incremental: Incremental, saved: Any, now: datetime) -> list[Window]:
    """The windows of a run that starts `now`, with `saved` the saved cursor (None before the first run)."""
    initial = incremental.initial_time
    start = initial if saved is None else max(initial, cursor_time(saved) - incremental.lookback_length)
    return list(split(start, incremental.end_at(now), incremental.window_length))


def cursor_time(saved: Any) -> datetime:
    """The saved cursor as a time, or FetcherError saying why windows cannot start from it."""
    try:
        return times.parse_time(str(saved))
    except ValueError:
        raise FetcherError(
            f"the saved cursor {saved!r} is not a time, and time windows start from it; "
            "delete the source's _state.json to start again from initial"
        ) from None


def next_cursor(saved: Any, windows: list[Window]) -> str | None:
    """The cursor after `windows` are fetched: the last one's end, unless that would move it backwards."""
    if not windows or (saved is not None and windows[-1].end <= cursor_time(saved)):
        return None
    return times.format_time(windows[-1].end)
