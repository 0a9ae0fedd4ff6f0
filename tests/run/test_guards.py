"""Data guards: each guard's verdict, warn and fail, and a run they stop before it publishes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fetcher import cli
from fetcher.config.guards import Guards
from fetcher.config.load import load
from fetcher.config.model import Config, Incremental, Source
from fetcher.errors import EXIT_FAILED, EXIT_OK, GuardError
from fetcher.ops import outcomes
from fetcher.run import guards, history, runner
from fetcher.run.history import GuardCheck, RunRecord
from fetcher.storage.local import LocalStorage
from tests.apiserver import ApiServer

START = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
INCREMENTAL = Incremental(cursor_field="updated", param="since", initial="a")


def _source(incremental: Incremental | None = None, **settings: Any) -> Source:
    return Source(name="api", url="http://h/x", guards=Guards(**settings), incremental=incremental)


def _runs(*counts: int, cursors: tuple[Any, ...] = ()) -> list[RunRecord]:
    """Successful runs, newest first, with these record counts (and cursors)."""
    runs = []
    for index, count in enumerate(counts):
        run = RunRecord(source="api", started_at=START - timedelta(hours=index), records=count)
        run.cursor = cursors[index] if cursors else None
        run.finish()
        runs.append(run)
    return runs


def _check(
    source: Source, records: int, previous: list[RunRecord], start: Any = None, end: Any = None
) -> GuardCheck:
    (check,) = guards.evaluate(source, records, start, end, previous)
    return check


class TestMinRecords:
    def test_fewer_records_than_required_trips_it_saying_by_how_much(self) -> None:
        check = _check(_source(min_records=100), 0, [])

        assert check == GuardCheck("min_records", "fail", True, "0 records, at least 100 required")

    def test_enough_records_pass(self) -> None:
        check = _check(_source(min_records=100, action="warn"), 100, [])

        assert (check.tripped, check.action, check.message) == (
            False,
            "warn",
            "100 records, at least 100 required",
        )


class TestMaxDrop:
    def test_a_count_far_below_the_median_of_the_last_runs_trips_it(self) -> None:
        previous = _runs(500, 480, 520, 500, 510, 490, 500, 10)  # the 8th is beyond history_runs

        check = _check(_source(max_drop_pct=50), 60, previous)

        assert check.tripped and check.guard == "max_drop_pct"
        assert (
            check.message == "60 records is 88% below the median 500 of the last 7 successful runs (max 50%)"
        )

    def test_a_drop_within_the_limit_passes(self) -> None:
        check = _check(_source(max_drop_pct=50, history_runs=3), 300, _runs(500, 400, 600))

        assert not check.tripped
        assert (
            check.message == "300 records is 40% below the median 500 of the last 3 successful runs (max 50%)"
        )

    def test_more_records_than_the_median_pass(self) -> None:
        check = _check(_source(max_drop_pct=10), 900, _runs(500))

        assert not check.tripped and "the median of the last 1 successful run is 500" in check.message

    def test_without_history_it_cannot_trip(self) -> None:
        check = _check(_source(max_drop_pct=10), 0, [])

        assert not check.tripped and check.message == "0 records; no successful run to compare"

    def test_a_median_of_zero_cannot_trip(self) -> None:
        assert not _check(_source(max_drop_pct=10), 0, _runs(0, 0)).tripped


class TestStaleCursor:
    def test_a_cursor_unmoved_in_as_many_runs_trips_it(self) -> None:
        # Newest first: the last run found nothing (no cursor); the two before both ended at "c".
        previous = _runs(0, 5, 5, cursors=(None, "c", "c"))

        check = _check(_source(INCREMENTAL, stale_cursor_runs=3), 0, previous, start="c", end="c")

        assert check.tripped
        assert check.message == "the cursor has not moved from 'c' in 3 successful run(s)"

    def test_a_cursor_moved_within_the_runs_passes(self) -> None:
        previous = _runs(0, 5, cursors=(None, "c"))  # the second newest moved it to "c" from "b"
        previous += _runs(5, cursors=("b",))

        check = _check(_source(INCREMENTAL, stale_cursor_runs=3), 0, previous, start="c", end="c")

        assert not check.tripped and "moved within the last 3" in check.message

    def test_a_cursor_moved_by_this_run_passes(self) -> None:
        check = _check(_source(INCREMENTAL, stale_cursor_runs=1), 3, [], start="c", end="d")

        assert not check.tripped and check.message == "the cursor moved to 'd'"

    def test_too_few_runs_cannot_trip(self) -> None:
        check = _check(_source(INCREMENTAL, stale_cursor_runs=3), 0, _runs(0), start="a", end="a")

        assert not check.tripped and "2 run(s) so far, 3 needed" in check.message

    def test_runs_that_never_moved_it_from_initial_trip_it(self) -> None:
        check = _check(
            _source(INCREMENTAL, stale_cursor_runs=2, action="warn"), 0, _runs(0), start="a", end="a"
        )

        assert check.tripped and check.action == "warn"

    def test_a_backfill_window_is_not_judged_by_it_and_the_others_still_are(self) -> None:
        source = _source(INCREMENTAL, stale_cursor_runs=1, min_records=1)

        checks = guards.evaluate(source, 0, "a", "a", [], watch_cursor=False)

        assert [(check.guard, check.tripped) for check in checks] == [("min_records", True)]


class TestEnforce:
    def test_fail_raises_naming_every_failing_guard_and_keeps_every_verdict(self, tmp_path: Path) -> None:
        storage = LocalStorage(str(tmp_path))
        for run in _runs(500, 500):
            history.save(storage, run)
        source = _source(min_records=100, max_drop_pct=50)
        record = RunRecord(source="api", started_at=START + timedelta(hours=1), records=60)

        with pytest.raises(GuardError) as caught:
            guards.enforce(storage, source, record, None, None)

        assert caught.value.guards == ["min_records", "max_drop_pct"]
        assert str(caught.value) == (
            "guard min_records: 60 records, at least 100 required; guard max_drop_pct: 60 records is 88% "
            "below the median 500 of the last 2 successful runs (max 50%)"
        )
        assert [(check.guard, check.tripped) for check in record.guards] == [
            ("min_records", True),
            ("max_drop_pct", True),
        ]

    def test_warn_logs_the_guard_and_does_not_raise(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        source = _source(min_records=100, action="warn")
        record = RunRecord(source="api", started_at=START, records=7)

        with caplog.at_level(logging.WARNING):
            guards.enforce(LocalStorage(str(tmp_path)), source, record, None, None)

        assert record.warnings == ["guard min_records: 7 records, at least 100 required"]
        assert (
            'event=guard source=api guard=min_records action=warn message="7 records, at least 100 required"'
            in caplog.text
        )


class _Clock(datetime):
    moment = START

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.moment


@pytest.fixture
def serve(api: ApiServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """The records the API serves; each run starts an hour after the one before."""
    served: list[dict[str, Any]] = []
    api.route("/items", lambda exchange: (200, {"data": served}))
    _Clock.moment = START
    monkeypatch.setattr("fetcher.run.runner.datetime", _Clock)
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
    yield served


def _config(write_config: Callable[[str], Path], api: ApiServer, guard: str) -> tuple[Path, Config]:
    path = write_config(
        f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\nrecords = "data"\n'
        '[sources.incremental]\ncursor_field = "n"\nparam = "since"\n'
        f"[sources.guards]\n{guard}"
    )
    return path, load(str(path), {})


def _data_files(out: Path) -> list[str]:
    return sorted(path.name for path in out.glob("api/fetch_date=*/*"))


def _run(config: Path) -> int:
    code = cli.main(["run", "--config", str(config)])
    _Clock.moment += timedelta(hours=1)
    return code


class TestRun:
    def test_a_failing_guard_publishes_nothing_keeps_the_state_and_names_itself(
        self, serve: list[dict[str, Any]], api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        config, _ = _config(write_config, api, "min_records = 3\nmax_drop_pct = 50\n")
        out = tmp_path / "out"
        serve[:] = [{"n": n} for n in range(10)]
        assert _run(config) == EXIT_OK
        files, state = _data_files(out), (out / "api" / "_state.json").read_text()
        serve[:] = [{"n": 10}, {"n": 11}]

        assert _run(config) == EXIT_FAILED

        assert _data_files(out) == files and len(files) == 2
        assert (out / "api" / "_state.json").read_text() == state
        assert not list(out.rglob(".*.tmp"))
        document = json.loads(sorted((out / "api" / "_runs").iterdir())[-1].read_text())
        assert document["status"] == "failed" and document["cursor"] is None
        assert document["error"]["type"] == "GuardError"
        assert document["error"]["message"] == (
            "guard min_records: 2 records, at least 3 required; "
            "guard max_drop_pct: 2 records is 80% below the median 10 of the last 1 successful run (max 50%)"
        )
        assert [(check["guard"], check["action"], check["tripped"]) for check in document["guards"]] == [
            ("min_records", "fail", True),
            ("max_drop_pct", "fail", True),
        ]
        outcome = outcomes.load("api")
        assert outcome is not None and not outcome.succeeded
        assert outcome.error is not None and outcome.error.startswith("guard min_records: 2 records")

    def test_a_warning_guard_publishes_and_advances_the_state(
        self, serve: list[dict[str, Any]], api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        config, _ = _config(write_config, api, 'min_records = 3\naction = "warn"\n')
        serve[:] = [{"n": 1}]

        assert _run(config) == EXIT_OK

        out = tmp_path / "out"
        assert len(_data_files(out)) == 2
        assert json.loads((out / "api" / "_state.json").read_text())["cursor"] == 1
        record = history.latest(LocalStorage(str(out)), "api")
        assert record is not None and record.status == "succeeded"
        assert record.warnings == ["guard min_records: 1 record, at least 3 required"]
        outcome = outcomes.load("api")
        assert outcome is not None and outcome.warnings == tuple(record.warnings)

    def test_an_empty_run_trips_min_records(
        self, serve: list[dict[str, Any]], api: ApiServer, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        _, settings = _config(write_config, api, "min_records = 1\n")

        record = runner.run(settings, settings.sources[0])

        assert record.status == "failed" and record.records == 0
        assert (
            record.error is not None
            and record.error.message == "guard min_records: 0 records, at least 1 required"
        )
        assert not (tmp_path / "out" / "api" / "_state.json").exists()
