"""`[sources.incremental]`: the cursor, and the time windows a run asks for; checked here.

With time windows (any of `start_param`, `end_param`, `window`, `lookback`, `end`, or a
`{window_start}` / `{window_end}` placeholder), a run asks for the time range from the saved cursor
(less `lookback`) to `end`, `window` at a time, and the cursor is a time: the end of the last
window fetched (fetcher.run.windows). The cursor and the window reach the API by parameters or
by placeholders (fetcher.config.placeholders); `check_requests` makes sure they do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from fetcher.config import placeholders, times
from fetcher.errors import ConfigError

WINDOW_PLACEHOLDERS = frozenset({"window_start", "window_end"})
RUN_PLACEHOLDERS = WINDOW_PLACEHOLDERS | {"cursor"}


class Incremental(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sources.incremental]`: fetch only what is new since the cursor, in time windows if asked."""

    cursor_field: str
    param: str | None = None
    initial: str | int | float | None = None
    primary_key: tuple[str, ...] = ()
    start_param: str | None = None
    end_param: str | None = None
    window: str | None = None
    lookback: str | None = None
    end: str | None = None

    @property
    def has_window_keys(self) -> bool:
        return any(
            key is not None
            for key in (self.start_param, self.end_param, self.window, self.lookback, self.end)
        )

    @property
    def window_length(self) -> timedelta | None:
        """How long each window is; None for one window over the whole range."""
        return None if self.window is None else times.parse_duration(self.window)

    @property
    def lookback_length(self) -> timedelta:
        return timedelta() if self.lookback is None else times.parse_duration(self.lookback)

    @property
    def initial_time(self) -> datetime:
        """`initial` as a time: where the first window starts (checked to be one when windows are on)."""
        return times.parse_time(str(self.initial))

    def end_at(self, now: datetime) -> datetime:
        """Where a run's last window ends: `end`, else `now`."""
        return now if self.end in (None, "now") else times.parse_time(str(self.end))

    def check(self, where: str) -> None:
        for key, value in (("cursor_field", self.cursor_field), ("param", self.param)):
            if value is not None and not value:
                raise ConfigError(f"{where}.{key}", "must not be empty")
        for key, value in (("start_param", self.start_param), ("end_param", self.end_param)):
            if value is not None and not value:
                raise ConfigError(f"{where}.{key}", "must not be empty")
        for key, value in (("window", self.window), ("lookback", self.lookback)):
            if value is not None:
                _check_parses(times.parse_duration, value, f"{where}.{key}")
        if self.end not in (None, "now"):
            _check_parses(times.parse_time, self.end, f"{where}.end", '"now" or ')


def check_requests(incremental: Incremental | None, templates: Iterable[tuple[str, Any]], where: str) -> None:
    """Raise ConfigError unless the cursor and the window reach the API, by a parameter or a placeholder.

    `templates` are the source's keys that may hold placeholders, with their values.
    """
    by_key = [(key, placeholders.names(template) & RUN_PLACEHOLDERS) for key, template in templates]
    used = set().union(*(names for _, names in by_key))
    here = f"{where}.incremental"
    if incremental is None:
        for key, names in by_key:
            for name in sorted(names):
                raise ConfigError(f"{where}.{key}", f"{{{name}}} needs [sources.incremental]")
        return
    if not (incremental.has_window_keys or used & WINDOW_PLACEHOLDERS):
        if incremental.param is None and "cursor" not in used:
            raise ConfigError(
                f"{here}.param", "is required: set it, or use {cursor} in url, params, headers or body"
            )
        if "cursor" in used and incremental.initial is None:
            raise ConfigError(f"{here}.initial", "is required with {cursor}: the value of the first run")
        return
    if incremental.initial is None:
        raise ConfigError(f"{here}.initial", "is required with time windows: where the first window starts")
    _check_parses(times.parse_time, str(incremental.initial), f"{here}.initial")
    if incremental.end_param is None and "window_end" not in used:
        raise ConfigError(
            f"{here}.end_param", "time windows send their end: set end_param, or use {window_end}"
        )
    if (
        incremental.start_param is None
        and incremental.param is None
        and not used & {"window_start", "cursor"}
    ):
        raise ConfigError(
            f"{here}.start_param", "time windows send their start: set start_param, or use {window_start}"
        )


def _check_parses(parse: Callable[[str], object], value: str, key: str, allowed: str = "") -> None:
    try:
        parse(value)
    except ValueError as exc:
        raise ConfigError(key, f"{allowed}{exc}" if allowed else str(exc)) from None
