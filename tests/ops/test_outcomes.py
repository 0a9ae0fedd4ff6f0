"""Outcomes: how each run ended, kept per source on this host."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fetcher.errors import OutputError
from fetcher.ops import outcomes
from fetcher.ops.outcomes import Outcome
from fetcher.output.writers import WrittenFile
from fetcher.run.history import GuardCheck, RunRecord

STARTED = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def status_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FETCHER_STATUS_DIR", str(tmp_path / "status"))
    return tmp_path / "status"


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
