"""Each source's latest outcome: the newer of its run records and the outcome kept on this host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fetcher.errors import FetchError, OutputError
from fetcher.ops import latest, outcomes
from fetcher.ops.outcomes import Outcome
from fetcher.run import history
from fetcher.storage.local import LocalStorage

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    (tmp_path / "out").mkdir()
    return LocalStorage(str(tmp_path / "out"))


def _record(storage: LocalStorage, finished: datetime, error: Exception | None = None) -> history.RunRecord:
    record = history.RunRecord(source="api", started_at=finished - timedelta(seconds=5), records=3)
    record.finish(error)
    record.finished_at = finished
    history.save(storage, record)
    return record


def _kept_failure(finished: datetime, last_success: datetime | None = None) -> Outcome:
    outcome = Outcome(
        "api",
        "failed",
        finished,
        error="cannot write /out/api: Read-only file system",
        last_success_at=last_success,
    )
    outcomes.save(outcome)
    return outcome


def test_read_nothing_before_the_first_run(storage: LocalStorage) -> None:
    assert latest.read(storage, "api") is None


def test_read_kept_failure_newer_than_the_records_wins_with_their_last_success(storage: LocalStorage) -> None:
    success = _record(storage, NOW - timedelta(hours=1))
    _kept_failure(NOW)

    last = latest.read(storage, "api")

    assert last is not None and (last.status, last.run_id, last.finished_at) == ("failed", None, NOW)
    assert last.error == "cannot write /out/api: Read-only file system"
    assert last.last_success_at == success.ended_at


def test_read_record_newer_than_the_kept_failure_wins(storage: LocalStorage) -> None:
    _kept_failure(NOW - timedelta(hours=1))
    record = _record(storage, NOW)

    last = latest.read(storage, "api")

    assert last is not None and (last.status, last.run_id, last.records) == ("succeeded", record.run_id, 3)
    assert last.last_success_at == NOW


def test_read_failed_record_keeps_the_last_success_of_older_records(storage: LocalStorage) -> None:
    _record(storage, NOW - timedelta(hours=2))
    _record(storage, NOW, FetchError("http://h/api", "HTTP 503"))

    last = latest.read(storage, "api")

    assert last is not None and last.error == "http://h/api: HTTP 503"
    assert last.last_success_at == NOW - timedelta(hours=2)


def test_read_unreadable_records_fall_back_to_the_kept_outcome(storage: LocalStorage, tmp_path: Path) -> None:
    (tmp_path / "out" / "api").mkdir()
    (tmp_path / "out" / "api" / "_runs").write_text("a file where a directory belongs")
    with pytest.raises(OutputError, match="cannot list"):
        latest.read(storage, "api")

    kept = _kept_failure(NOW, last_success=NOW - timedelta(days=1))

    assert latest.read(storage, "api") == kept
