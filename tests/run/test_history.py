"""Run records: what a run did, saved as JSON, success or failure, with errors redacted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fetcher import redact
from fetcher.errors import FetchError
from fetcher.output.writers import WrittenFile
from fetcher.run import history
from fetcher.storage.local import LocalStorage

STARTED = datetime(2026, 11, 21, 10, 0, 5, tzinfo=UTC)


def test_run_id_is_utc_second() -> None:
    assert history.run_id(STARTED) == "20261121T100005Z"


def test_save_success_record_lists_files(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = history.RunRecord(source="api", started_at=STARTED, pages=2, records=10)
    record.files = [WrittenFile("api/x.parquet", "parquet", 10, 123, "ab" * 32)]
    record.finish()

    path = history.save(storage, record)

    document = storage.read_json(path)
    assert path == "api/_runs/20261121T100005Z.json"
    assert document["status"] == "succeeded" and document["error"] is None
    assert document["started_at"] == "2026-11-21T10:00:05.000Z"
    assert document["files"] == [
        {"path": "api/x.parquet", "format": "parquet", "rows": 10, "bytes": 123, "sha256": "ab" * 32}
    ]
    assert {"run_id", "finished_at", "duration_s", "pages", "records", "attempts", "retries"} <= set(document)


def test_finish_failure_records_type_status_and_redacted_message() -> None:
    redact.register_secret("tok-secret")
    record = history.RunRecord(source="api", started_at=STARTED)

    record.finish(FetchError("https://h/x", "HTTP 503 with tok-secret", status=503))

    assert record.status == "failed"
    assert record.error == {"type": "FetchError", "message": "https://h/x: HTTP 503 with ***", "status": 503}


def test_finish_unexpected_exception_is_marked_bug() -> None:
    record = history.RunRecord(source="api", started_at=STARTED)

    record.finish(KeyError("boom"))

    assert record.error["bug"] is True


def test_latest_and_last_success(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    for second, error in ((1, None), (2, None), (3, FetchError("u", "x"))):
        record = history.RunRecord(source="api", started_at=STARTED.replace(second=second))
        record.finish(error)
        history.save(storage, record)

    assert history.latest(storage, "api")["run_id"] == "20261121T100003Z"
    assert history.last_success(storage, "api")["run_id"] == "20261121T100002Z"
    assert history.exists(storage, "api", STARTED.replace(second=2))
    assert history.latest(storage, "other") is None
