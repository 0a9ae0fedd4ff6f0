"""Run records: what a run did, saved as JSON, success or failure, with errors redacted; read back typed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyarrow import fs

from fetcher import redact
from fetcher.errors import Conflict, FetchError, OutputError
from fetcher.output.writers import WrittenFile
from fetcher.run import history
from fetcher.run.history import RunError, RunRecord
from fetcher.storage.local import LocalStorage
from fetcher.storage.s3 import S3Storage

STARTED = datetime(2026, 11, 21, 10, 0, 5, tzinfo=UTC)


def test_run_id_is_utc_second() -> None:
    assert RunRecord(source="api", started_at=STARTED).run_id == "20261121T100005Z"


def test_save_success_record_lists_files(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = RunRecord(source="api", started_at=STARTED, pages=2, records=10)
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


def test_save_writes_exactly_the_documented_keys_in_order(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = RunRecord(source="api", started_at=STARTED)
    record.finish(FetchError("https://h/x", "HTTP 503", status=503))

    document = json.loads((tmp_path / history.save(storage, record)).read_text())

    assert list(document) == [
        "run_id",
        "source",
        "started_at",
        "status",
        "finished_at",
        "duration_s",
        "pages",
        "records",
        "duplicates_dropped",
        "attempts",
        "retries",
        "columns",
        "files",
        "cursor",
        "error",
        "schema_change",
        "primary_key",
        "guards",
        "kind",
        "window_start",
        "window_end",
    ]
    assert document["kind"] == "run"
    assert document["error"] == {"type": "FetchError", "message": "https://h/x: HTTP 503", "status": 503}


def test_finish_failure_records_type_status_and_redacted_message() -> None:
    redact.register_secret("tok-secret")
    record = RunRecord(source="api", started_at=STARTED)

    record.finish(FetchError("https://h/x", "HTTP 503 with tok-secret", status=503))

    assert record.status == "failed"
    assert record.error == RunError("FetchError", "https://h/x: HTTP 503 with ***", status=503)
    assert record.error.to_json() == {
        "type": "FetchError",
        "message": "https://h/x: HTTP 503 with ***",
        "status": 503,
    }


def test_finish_unexpected_exception_is_marked_bug() -> None:
    record = RunRecord(source="api", started_at=STARTED)

    record.finish(KeyError("boom"))

    assert record.error is not None and record.error.bug is True
    assert record.error.to_json()["bug"] is True


def test_latest_and_last_success(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    for second, error in ((1, None), (2, None), (3, FetchError("u", "x"))):
        record = RunRecord(source="api", started_at=STARTED.replace(second=second))
        record.finish(error)
        history.save(storage, record)

    latest, success = history.latest(storage, "api"), history.last_success(storage, "api")
    assert latest is not None and latest.run_id == "20261121T100003Z"
    assert success is not None and success.run_id == "20261121T100002Z"
    assert history.exists(storage, "api", STARTED.replace(second=2))
    assert not history.exists(storage, "api", STARTED.replace(second=4))
    assert history.latest(storage, "other") is None
    assert history.last_success(storage, "other") is None


def test_latest_reads_back_the_record_as_saved(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = RunRecord(source="api", started_at=STARTED, pages=3, records=7, attempts=4, retries=1)
    record.columns = {"id": "int64", "big": "string"}
    record.files = [WrittenFile("api/x.csv", "csv", 7, 99, "cd" * 32)]
    record.cursor = 2**70
    record.finish(FetchError("https://h/x", "HTTP 500", status=500))
    history.save(storage, record)

    back = history.latest(storage, "api")

    assert back is not None
    assert back.to_json() == record.to_json()
    assert isinstance(back.started_at, datetime) and back.started_at == STARTED
    assert back.files == [WrittenFile("api/x.csv", "csv", 7, 99, "cd" * 32)]
    assert back.error == RunError("FetchError", "https://h/x: HTTP 500", status=500)
    assert back.ended_at == back.finished_at


def test_latest_ignores_other_names_in_runs(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = RunRecord(source="api", started_at=STARTED)
    record.finish()
    history.save(storage, record)
    storage.write_json("api/_runs/zz-notes.json", {"not": "a run record"}, replaces=None)

    latest = history.latest(storage, "api")

    assert latest is not None and latest.run_id == "20261121T100005Z"


def test_latest_record_of_the_wrong_shape_is_output_error(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    storage.write_json(
        "api/_runs/20261121T100005Z.json", {"source": "api", "status": "succeeded"}, replaces=None
    )

    with pytest.raises(OutputError, match=r"cannot read .*20261121T100005Z\.json: not a run record"):
        history.latest(storage, "api")


def test_ended_at_is_start_until_finished() -> None:
    record = RunRecord(source="api", started_at=STARTED)

    assert record.ended_at == STARTED
    record.finish()
    assert record.ended_at == record.finished_at


def test_latest_and_last_success_follow_runs_not_backfill_windows(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    run = RunRecord(source="api", started_at=STARTED)
    run.finish()
    window = RunRecord(
        source="api",
        started_at=STARTED.replace(second=9),
        kind=history.BACKFILL,
        window_start="2026-01-01T00:00:00Z",
        window_end="2026-01-02T00:00:00Z",
    )
    window.finish()
    history.save(storage, run)
    history.save(storage, window)

    assert history.latest(storage, "api").run_id == run.run_id
    assert history.last_success(storage, "api").run_id == run.run_id
    back = history.last_success(storage, "api", kind=None)
    assert back is not None and back.run_id == window.run_id
    assert (back.kind, back.window_start, back.window_end) == (
        "backfill",
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
    )


def test_recent_and_successes_follow_runs_not_backfill_windows(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    saved = []
    for second, kind, failed in (
        (1, history.RUN, False),
        (2, history.BACKFILL, False),
        (3, history.RUN, True),
    ):
        record = RunRecord(source="api", started_at=STARTED.replace(second=second), kind=kind)
        record.finish(FetchError("https://h/x", "HTTP 503", status=503) if failed else None)
        history.save(storage, record)
        saved.append(record.run_id)

    assert [r.run_id for r in history.recent(storage, "api", 2)] == [saved[0], saved[2]]
    assert [r.run_id for r in history.recent(storage, "api", 2, kind=None)] == saved[1:]
    assert [r.run_id for r in history.successes(storage, "api")] == [saved[0]]
    assert [r.run_id for r in history.successes(storage, "api", kind=None)] == [saved[1], saved[0]]
    assert history.latest(storage, "api").run_id == saved[2]
    assert history.latest(storage, "api", kind=history.BACKFILL).run_id == saved[1]


def test_save_of_a_run_id_another_run_saved_is_conflict_and_keeps_its_record(
    bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str
) -> None:
    """Two hosts that start a source in the same second: the second record of that run id loses."""
    _, name = bucket
    storage = S3Storage(f"s3://{name}", moto_endpoint)
    winner = RunRecord(source="api", started_at=STARTED, records=10)
    winner.finish()
    loser = RunRecord(source="api", started_at=STARTED, records=3)
    loser.finish()
    history.save(storage, winner)

    with pytest.raises(Conflict, match=r"^another run of api saved the run record 20261121T100005Z first: "):
        history.save(storage, loser)

    saved = history.latest(storage, "api")
    assert saved is not None
    assert saved.records == 10


def test_save_again_replaces_the_runs_own_record(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    record = RunRecord(source="api", started_at=STARTED)
    record.finish()
    history.save(storage, record)
    record.finish(OutputError("the state was not saved"))

    history.save(storage, record)

    saved = history.latest(storage, "api")
    assert saved is not None
    assert saved.status == history.FAILED
