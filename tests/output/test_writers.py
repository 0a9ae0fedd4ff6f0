"""Writers: one Parquet and one CSV per run, identical rows, read back by real readers."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fetcher.errors import OutputError
from fetcher.output.writers import Streamer, write_files
from fetcher.records.landing import RunStamp
from fetcher.storage.local import LocalStorage, Staged
from tests.landed import assert_run_columns, without_run_columns

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
PAGES = [
    pa.table({"id": [1, 2], "name": ["a", ""], "score": [1.5, None]}),
    pa.table({"id": [3], "name": [None]}),
]
TARGETS = {"parquet": "api/fetch_date=2026-11-21/api_1.parquet", "csv": "api/fetch_date=2026-11-21/api_1.csv"}
STAMP = RunStamp("20261121T100005Z", datetime(2026, 11, 21, 10, 0, 5, tzinfo=UTC))
FILE_SCHEMA = SCHEMA.append(pa.field("_fetched_at", pa.timestamp("us", tz="UTC"))).append(
    pa.field("_run_id", pa.string())
)


def test_write_files_both_formats_hold_every_row(tmp_path: Path) -> None:
    written = write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, TARGETS, STAMP)

    parquet = pq.read_table(tmp_path / TARGETS["parquet"])
    csv = pd.read_csv(tmp_path / TARGETS["csv"], keep_default_na=False, na_values=[""])
    assert parquet.schema == FILE_SCHEMA
    assert_run_columns(parquet, "20261121T100005Z", STAMP.started_at)
    assert without_run_columns(parquet).to_pylist() == [
        {"id": 1, "name": "a", "score": 1.5},
        {"id": 2, "name": "", "score": None},
        {"id": 3, "name": None, "score": None},
    ]
    assert csv["id"].tolist() == [1, 2, 3]
    assert csv.columns.tolist()[-2:] == ["_fetched_at", "_run_id"]
    assert csv["_fetched_at"].tolist() == ["2026-11-21T10:00:05Z"] * 3
    assert csv["_run_id"].tolist() == ["20261121T100005Z"] * 3
    assert [(item.format, item.rows) for item in written] == [("parquet", 3), ("csv", 3)]


def test_write_files_csv_distinguishes_empty_string_from_null(tmp_path: Path) -> None:
    write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, {"csv": "a.csv"}, STAMP)

    assert (tmp_path / "a.csv").read_text().splitlines() == [
        '"id","name","score","_fetched_at","_run_id"',
        '1,"a",1.5,"2026-11-21T10:00:05Z","20261121T100005Z"',
        '2,"",,"2026-11-21T10:00:05Z","20261121T100005Z"',
        '3,,,"2026-11-21T10:00:05Z","20261121T100005Z"',
    ]


def test_write_files_reports_bytes_and_sha256(tmp_path: Path) -> None:
    (written,) = write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, {"parquet": "a.parquet"}, STAMP)

    data = (tmp_path / "a.parquet").read_bytes()
    assert written.bytes == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.path == "a.parquet"


def test_write_files_stamps_every_page_with_the_run_after_conforming(tmp_path: Path) -> None:
    pages = [pa.table({"name": ["x"]}), pa.table({"score": [2.0], "id": [7]})]

    write_files(LocalStorage(str(tmp_path)), pages, SCHEMA, {"parquet": "a.parquet"}, STAMP)

    table = pq.read_table(tmp_path / "a.parquet")
    assert table.column_names == ["id", "name", "score", "_fetched_at", "_run_id"]
    assert_run_columns(table, "20261121T100005Z", STAMP.started_at)
    assert without_run_columns(table).to_pylist() == [
        {"id": None, "name": "x", "score": None},
        {"id": 7, "name": None, "score": 2.0},
    ]


def test_write_files_failure_mid_write_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: object, table: pa.Table) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("fetcher.output.formats._CsvSink.write", full_disk)

    with pytest.raises(OutputError, match="No space left on device"):
        write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, TARGETS, STAMP)

    assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []


class TestStreamer:
    def test_streamer_writes_pages_as_offered_and_publishes(self, tmp_path: Path) -> None:
        storage = LocalStorage(str(tmp_path))

        with Streamer(storage, TARGETS, STAMP) as streamer:
            for page in PAGES:
                streamer.offer(page, SCHEMA)
            assert streamer.schema == SCHEMA  # the run's, without the metadata columns
            written = streamer.publish()

        parquet = pq.read_table(tmp_path / TARGETS["parquet"])
        assert parquet.schema == FILE_SCHEMA
        assert_run_columns(parquet, "20261121T100005Z", STAMP.started_at)
        assert without_run_columns(parquet).to_pylist() == [
            {"id": 1, "name": "a", "score": 1.5},
            {"id": 2, "name": "", "score": None},
            {"id": 3, "name": None, "score": None},
        ]
        assert [item.rows for item in written] == [3, 3]
        assert written[0].sha256 == hashlib.sha256((tmp_path / TARGETS["parquet"]).read_bytes()).hexdigest()

    def test_streamer_schema_change_abandons_and_discards(self, tmp_path: Path) -> None:
        storage = LocalStorage(str(tmp_path))
        wider = SCHEMA.append(pa.field("extra", pa.string()))

        with Streamer(storage, TARGETS, STAMP) as streamer:
            streamer.offer(PAGES[0], SCHEMA)
            streamer.offer(PAGES[1], wider)

            assert streamer.abandoned and not streamer.active
            assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []

    def test_streamer_write_error_surfaces_and_publishes_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def full_disk(self: object, table: pa.Table) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("fetcher.output.formats._CsvSink.write", full_disk)

        with (
            pytest.raises(OutputError, match="No space left on device"),
            Streamer(LocalStorage(str(tmp_path)), TARGETS, STAMP) as streamer,
        ):
            for page in PAGES:
                streamer.offer(page, SCHEMA)
            streamer.publish()

        assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []

    def test_streamer_exit_on_failure_discards(self, tmp_path: Path) -> None:
        with pytest.raises(RuntimeError), Streamer(LocalStorage(str(tmp_path)), TARGETS, STAMP) as streamer:
            streamer.offer(PAGES[0], SCHEMA)
            raise RuntimeError("fetch failed")

        assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []


def test_write_files_are_complete_on_disk_when_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(str(tmp_path))
    sizes: dict[str, int] = {}
    publish = storage.publish

    def publish_and_measure(*staged: Staged) -> None:
        for item in staged:
            sizes[item.relpath] = Path(item.temp_path).stat().st_size  # what an fsync or upload sees
        publish(*staged)

    monkeypatch.setattr(storage, "publish", publish_and_measure)

    written = write_files(storage, PAGES, SCHEMA, TARGETS, STAMP)

    assert sizes == {item.path: item.bytes for item in written}
    assert all(size > 0 for size in sizes.values())


def test_write_files_second_publish_failing_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames: list[str] = []
    replace = os.replace

    def fail_second(source: str, destination: str) -> None:
        renames.append(destination)
        if len(renames) == 2:
            raise OSError(5, "Input/output error")
        replace(source, destination)

    monkeypatch.setattr("fetcher.storage.local.os.replace", fail_second)

    with pytest.raises(OutputError, match="Input/output error"):
        write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, TARGETS, STAMP)

    assert len(renames) == 2
    assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []
