"""Incremental state: the saved cursor, and the largest cursor of a run."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import fs

from fetcher.config.model import Incremental
from fetcher.errors import Conflict
from fetcher.run import state
from fetcher.storage.local import LocalStorage
from fetcher.storage.s3 import S3Storage

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


class TestRace:
    """Two runs of a source that overlap, as on two hosts: the one that saves second loses."""

    @pytest.fixture
    def s3(self, bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str) -> S3Storage:
        _, name = bucket
        return S3Storage(f"s3://{name}/lake", moto_endpoint)

    def test_run_that_saves_second_fails_and_keeps_the_first_ones_cursor(self, s3: S3Storage) -> None:
        state.save_cursor(s3, "api", INCREMENTAL, "2026-11-01", "r0", replaces=None)
        read_by_a = state.version(s3, "api")  # run A starts: its cursor is 2026-11-01
        assert state.load_cursor(s3, "api", INCREMENTAL) == "2026-11-01"
        state.save_cursor(s3, "api", INCREMENTAL, "2026-11-30", "b", replaces=state.version(s3, "api"))

        with pytest.raises(
            Conflict, match=r"^another run of api saved the state first \(s3://.*/lake/api/_state\.json"
        ):
            state.save_cursor(s3, "api", INCREMENTAL, "2026-11-15", "a", replaces=read_by_a)

        saved = s3.read_json("api/_state.json")
        assert (saved["cursor"], saved["run_id"]) == ("2026-11-30", "b")

    def test_first_save_of_two_runs_from_no_state_keeps_the_winners(self, s3: S3Storage) -> None:
        assert state.version(s3, "api") is None
        state.save_cursor(s3, "api", INCREMENTAL, "2026-11-30", "b", replaces=None)

        with pytest.raises(Conflict, match='set lock = "s3"'):
            state.save_cursor(s3, "api", INCREMENTAL, "2026-11-15", "a", replaces=None)

        assert state.load_cursor(s3, "api", INCREMENTAL) == "2026-11-30"

    def test_local_state_changed_since_it_was_read_is_a_conflict(self, tmp_path: Path) -> None:
        storage = LocalStorage(str(tmp_path))
        state.save_cursor(storage, "api", INCREMENTAL, "2026-11-01", "r0", replaces=None)
        read = state.version(storage, "api")
        state.save_cursor(storage, "api", INCREMENTAL, "2026-11-30", "b", replaces=read)

        with pytest.raises(Conflict):
            state.save_cursor(storage, "api", INCREMENTAL, "2026-11-15", "a", replaces=read)

        assert state.load_cursor(storage, "api", INCREMENTAL) == "2026-11-30"
