"""Outcomes: kept per source on this host after every run, and the signals sent after it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher import cli
from fetcher.config.model import Config, Source
from fetcher.errors import EXIT_FAILED, EXIT_OK, OutputError
from fetcher.ops import outcomes
from fetcher.ops.outcomes import Outcome
from fetcher.output.writers import WrittenFile
from fetcher.run.history import GuardCheck, RunRecord
from tests.apiserver import ApiServer

STARTED = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def status_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
    return tmp_path / "status"


@pytest.fixture
def signals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Outcome, Outcome | None]]]:
    """Replace the signals with one that records what it was sent."""
    sent: list[tuple[str, Outcome, Outcome | None]] = []

    def record(config: Config, source: Source, outcome: Outcome, previous: Outcome | None) -> None:
        sent.append((source.name, outcome, previous))

    monkeypatch.setattr(outcomes, "SIGNALS", [("record", record)])
    yield sent


def _record(status: str = "succeeded") -> RunRecord:
    record = RunRecord(source="api", started_at=STARTED, pages=2, records=7, retries=1)
    record.files = [WrittenFile("api/x.parquet", "parquet", 7, 10, "ab")]
    record.finish(None if status == "succeeded" else OutputError("disk full"))
    return record


def test_of_record_carries_the_runs_counts_and_marks_its_success() -> None:
    outcome = Outcome.of_record(_record(), None)

    assert (
        outcome.status,
        outcome.run_id,
        outcome.records,
        outcome.pages,
        outcome.retries,
        outcome.files,
    ) == (
        "succeeded",
        "20261121T100000Z",
        7,
        2,
        1,
        1,
    )
    assert outcome.last_success_at == outcome.finished_at
    assert outcome.error is None


def test_of_record_failed_keeps_the_error_and_the_previous_success() -> None:
    success = Outcome.of_record(_record(), None)

    failed = Outcome.of_record(_record("failed"), success)

    assert failed.status == "failed"
    assert failed.error == "disk full"
    assert failed.last_success_at == success.last_success_at


def test_of_error_is_a_failure_without_a_run() -> None:
    outcome = Outcome.of_error("api", OutputError("cannot write /out/api: Read-only file system"), None)

    assert (outcome.status, outcome.run_id, outcome.last_success_at) == ("failed", None, None)
    assert outcome.error == "cannot write /out/api: Read-only file system"


def test_save_then_load_round_trips(status_dir: Path) -> None:
    outcome = Outcome.of_record(_record(), None)

    outcomes.save(outcome)

    assert outcomes.load("api") == outcome
    assert [path.name for path in status_dir.iterdir()] == ["api.json"]


def test_of_record_keeps_the_warnings_of_guards_and_they_round_trip(status_dir: Path) -> None:
    record = _record()
    record.guards = [
        GuardCheck("min_records", "warn", True, "7 records, at least 10 required"),
        GuardCheck("max_drop_pct", "warn", False, "7 records, the median of the last 1 successful run is 7"),
    ]
    outcome = Outcome.of_record(record, None)

    outcomes.save(outcome)

    assert outcome.warnings == ("guard min_records: 7 records, at least 10 required",)
    assert outcomes.load("api") == outcome


def test_load_missing_or_unreadable_is_none(status_dir: Path) -> None:
    assert outcomes.load("api") is None
    status_dir.mkdir()
    (status_dir / "api.json").write_text("{not json")
    assert outcomes.load("api") is None


def test_after_run_keeps_going_when_a_signal_fails(
    status_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []

    def broken(*args: object) -> None:
        raise RuntimeError("receiver down")

    monkeypatch.setattr(outcomes, "SIGNALS", [("broken", broken), ("next", lambda *a: sent.append("next"))])
    outcome = Outcome.of_record(_record(), None)

    with caplog.at_level(logging.WARNING):
        outcomes.after_run(None, Source(name="api", url="http://h/x"), outcome, None)  # type: ignore[arg-type]

    assert sent == ["next"]
    assert outcomes.load("api") == outcome
    assert 'event=signal_failed signal=broken source=api error="receiver down"' in caplog.text


def test_run_command_keeps_each_outcome_and_signals_with_the_previous_one(
    api: ApiServer,
    write_config: Callable[[str], Path],
    tmp_path: Path,
    signals: list[tuple[str, Outcome, Outcome | None]],
) -> None:
    api.route("/items", lambda exchange: (200, {"data": [{"id": 1}]}))
    config = write_config(f'output_dir = "{{out}}"\n[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\n')
    assert cli.main(["run", "--config", str(config)]) == EXIT_OK
    # The source's directory becomes a file: the next run fails before it can take its lock.
    (tmp_path / "out" / "api").rename(tmp_path / "out" / "api.old")
    (tmp_path / "out" / "api").write_text("not a directory")
    assert cli.main(["run", "--config", str(config)]) == EXIT_FAILED

    (first, first_outcome, none), (_, second_outcome, previous) = signals
    assert (first, first_outcome.status, none) == ("api", "succeeded", None)
    assert previous == first_outcome
    assert second_outcome.status == "failed" and second_outcome.run_id is None
    assert "cannot write" in (second_outcome.error or "")
    assert second_outcome.last_success_at == first_outcome.finished_at
    assert outcomes.load("api") == second_outcome
