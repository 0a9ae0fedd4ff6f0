"""Incremental state: the saved cursor, and the largest cursor of a run."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from fetcher.config.model import Incremental
from fetcher.run import state
from fetcher.storage.local import LocalStorage

INCREMENTAL = Incremental(cursor_field="updated_at", param="since", initial="2026-01-01")


def test_load_cursor_without_state_is_initial(tmp_path: Path) -> None:
    assert state.load_cursor(LocalStorage(str(tmp_path)), "api", INCREMENTAL) == "2026-01-01"


def test_save_then_load_cursor(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))

    state.save_cursor(storage, "api", INCREMENTAL, "2026-11-21T10:00:00Z", "20261121T100000Z", replaces=None)

    assert state.load_cursor(storage, "api", INCREMENTAL) == "2026-11-21T10:00:00Z"
    assert storage.read_json("api/_state.json")["run_id"] == "20261121T100000Z"


def test_load_cursor_ignores_state_of_another_field(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    storage = LocalStorage(str(tmp_path))
    state.save_cursor(storage, "api", Incremental(cursor_field="id", param="after"), 99, "r", replaces=None)

    assert state.load_cursor(storage, "api", INCREMENTAL) == "2026-01-01"
    assert "reason=cursor_field_changed" in caplog.text


def test_cursor_tracker_keeps_largest_across_pages() -> None:
    tracker = state.CursorTracker("n", previous=None)

    for values in ([3, 9, None], [None], [5]):
        tracker(pa.table({"n": values}))

    assert (tracker.value, tracker.seen) == (9, True)


def test_cursor_tracker_never_goes_below_previous() -> None:
    tracker = state.CursorTracker("t", previous="2026-11-02")

    tracker(pa.table({"t": ["2026-11-01"]}))

    assert tracker.value == "2026-11-02" and tracker.seen


def test_cursor_tracker_without_column_sees_nothing() -> None:
    tracker = state.CursorTracker("t", previous="x")

    tracker(pa.table({"other": [1]}))

    assert (tracker.value, tracker.seen) == ("x", False)


def test_cursor_tracker_compares_ints_and_floats_as_numbers() -> None:
    tracker = state.CursorTracker("n", previous=100)

    tracker(pa.table({"n": [50.0]}))

    assert tracker.value == 100


def test_as_param_strings_as_they_are_numbers_as_json() -> None:
    assert (state.as_param("2026-01-01"), state.as_param(5), state.as_param(2.5)) == (
        "2026-01-01",
        "5",
        "2.5",
    )
