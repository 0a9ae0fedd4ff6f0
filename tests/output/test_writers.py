"""Writers: one Parquet and one CSV per run, identical rows, read back by real readers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fetcher.errors import OutputError
from fetcher.output.writers import Streamer, write_files
from fetcher.storage.local import LocalStorage, Staged

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
PAGES = [
    pa.table({"id": [1, 2], "name": ["a", ""], "score": [1.5, None]}),
    pa.table({"id": [3], "name": [None]}),
]
TARGETS = {"parquet": "api/fetch_date=2026-11-21/api_1.parquet", "csv": "api/fetch_date=2026-11-21/api_1.csv"}


def test_write_files_both_formats_hold_every_row(tmp_path: Path) -> None:
    written = write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, TARGETS)

    parquet = pq.read_table(tmp_path / TARGETS["parquet"])
    csv = pd.read_csv(tmp_path / TARGETS["csv"], keep_default_na=False, na_values=[""])
    assert parquet.schema == SCHEMA
    assert parquet.to_pylist() == [
        {"id": 1, "name": "a", "score": 1.5},
        {"id": 2, "name": "", "score": None},
        {"id": 3, "name": None, "score": None},
    ]
    assert csv["id"].tolist() == [1, 2, 3]
    assert [(item.format, item.rows) for item in written] == [("parquet", 3), ("csv", 3)]


def test_write_files_csv_distinguishes_empty_string_from_null(tmp_path: Path) -> None:
    write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, {"csv": "a.csv"})

    assert (tmp_path / "a.csv").read_text().splitlines() == [
        '"id","name","score"',
        '1,"a",1.5',
        '2,"",',
        "3,,",
    ]


def test_write_files_reports_bytes_and_sha256(tmp_path: Path) -> None:
    (written,) = write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, {"parquet": "a.parquet"})

    data = (tmp_path / "a.parquet").read_bytes()
    assert written.bytes == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.path == "a.parquet"


def test_write_files_observe_sees_conformed_pages(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    write_files(
        LocalStorage(str(tmp_path)),
        PAGES,
        SCHEMA,
        {"csv": "a.csv"},
        observe=lambda t: seen.append(t.column_names),
    )

    assert seen == [["id", "name", "score"], ["id", "name", "score"]]


def test_write_files_failure_mid_write_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: object, table: pa.Table) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("fetcher.output.formats._CsvSink.write", full_disk)

    with pytest.raises(OutputError, match="No space left on device"):
        write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, TARGETS)

    assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []


class TestStreamer:
    def test_streamer_writes_pages_as_offered_and_publishes(self, tmp_path: Path) -> None:
        storage = LocalStorage(str(tmp_path))
        seen: list[int] = []

        with Streamer(storage, TARGETS, observe=lambda t: seen.append(t.num_rows)) as streamer:
            for page in PAGES:
                streamer.offer(page, SCHEMA)
            written = streamer.publish()

        assert pq.read_table(tmp_path / TARGETS["parquet"]).num_rows == 3
        assert [item.rows for item in written] == [3, 3] and seen == [2, 1]
        assert written[0].sha256 == hashlib.sha256((tmp_path / TARGETS["parquet"]).read_bytes()).hexdigest()

    def test_streamer_schema_change_abandons_and_discards(self, tmp_path: Path) -> None:
        storage = LocalStorage(str(tmp_path))
        wider = SCHEMA.append(pa.field("extra", pa.string()))

        with Streamer(storage, TARGETS) as streamer:
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
            Streamer(LocalStorage(str(tmp_path)), TARGETS) as streamer,
        ):
            for page in PAGES:
                streamer.offer(page, SCHEMA)
            streamer.publish()

        assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []

    def test_streamer_exit_on_failure_discards(self, tmp_path: Path) -> None:
        with pytest.raises(RuntimeError), Streamer(LocalStorage(str(tmp_path)), TARGETS) as streamer:
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

    written = write_files(storage, PAGES, SCHEMA, TARGETS)

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
        write_files(LocalStorage(str(tmp_path)), PAGES, SCHEMA, TARGETS)

    assert len(renames) == 2
    assert list((tmp_path / "api" / "fetch_date=2026-11-21").iterdir()) == []
