"""Time windows: the range a run asks for, split into windows, and the cursor that never goes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fetcher.config.incremental import Incremental
from fetcher.errors import FetcherError
from fetcher.run.windows import Window, next_cursor, plan, split

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)


def _day(n: float) -> datetime:
    return JAN1 + timedelta(days=n)


def _incremental(**keys: str) -> Incremental:
    return Incremental(cursor_field="t", initial="2026-01-01", start_param="from", end_param="to", **keys)


def test_split_successive_windows_last_one_shorter() -> None:
    windows = list(split(_day(0), _day(2.5), timedelta(days=1)))

    assert windows == [Window(_day(0), _day(1)), Window(_day(1), _day(2)), Window(_day(2), _day(2.5))]


def test_split_without_length_one_window_and_none_for_empty_range() -> None:
    assert list(split(_day(0), _day(3), None)) == [Window(_day(0), _day(3))]
    assert list(split(_day(3), _day(3), timedelta(days=1))) == []


def test_plan_first_run_from_initial_to_now() -> None:
    windows = plan(_incremental(window="1d"), None, _day(2))

    assert windows == [Window(_day(0), _day(1)), Window(_day(1), _day(2))]


def test_plan_later_run_from_cursor_less_lookback_never_before_initial() -> None:
    incremental = _incremental(lookback="2h")

    assert plan(incremental, "2026-01-02T00:00:00Z", _day(3)) == [
        Window(_day(1) - timedelta(hours=2), _day(3))
    ]
    assert plan(incremental, "2026-01-01T01:00:00Z", _day(3)) == [Window(_day(0), _day(3))]


def test_plan_fixed_end_before_cursor_asks_nothing() -> None:
    assert plan(_incremental(end="2026-01-02"), "2026-01-05T00:00:00Z", _day(9)) == []


def test_plan_cursor_not_a_time_says_how_to_start_again() -> None:
    with pytest.raises(
        FetcherError, match=r"the saved cursor 42 is not a time.*delete the source's _state\.json"
    ):
        plan(_incremental(), 42, _day(3))


def test_window_values_fill_start_end_and_cursor() -> None:
    assert Window(_day(0), _day(1)).values == {
        "window_start": "2026-01-01T00:00:00Z",
        "window_end": "2026-01-02T00:00:00Z",
        "cursor": "2026-01-01T00:00:00Z",
    }


def test_next_cursor_last_windows_end_never_backwards() -> None:
    windows = [Window(_day(0), _day(1)), Window(_day(1), _day(2))]

    assert next_cursor(None, windows) == "2026-01-03T00:00:00Z"
    assert next_cursor("2026-01-02T12:00:00Z", windows) == "2026-01-03T00:00:00Z"
    assert next_cursor("2026-01-03T00:00:00Z", windows) is None, "not moved to where it is"
    assert next_cursor("2026-01-05T00:00:00Z", windows) is None, "never moved backwards"
    assert next_cursor("2026-01-01T00:00:00Z", []) is None
