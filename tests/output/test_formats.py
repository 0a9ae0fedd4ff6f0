"""Formats: one table of names and sinks, cheap to import, each sink writing its format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fetcher.output.formats import FORMATS

REPO = Path(__file__).resolve().parents[2]
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def test_formats_table_names_parquet_then_csv() -> None:
    assert list(FORMATS) == ["parquet", "csv"]


def test_formats_import_without_pyarrow() -> None:
    probe = "import sys, fetcher.output.formats; print('pyarrow' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert result.stdout.strip() == "False"


def test_parquet_sink_row_groups_are_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fetcher.output.formats.ROW_GROUP_ROWS", 4)
    pages = [pa.table({"id": [n, n + 1], "name": ["x", "y"]}) for n in range(0, 10, 2)]

    with open(tmp_path / "a.parquet", "wb") as file:
        sink = FORMATS["parquet"](file, SCHEMA)
        for page in pages:
            sink.write(page)
        sink.close()

    metadata = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [4, 4, 2]


def test_csv_sink_writes_header_and_rows(tmp_path: Path) -> None:
    with open(tmp_path / "a.csv", "wb") as file:
        sink = FORMATS["csv"](file, SCHEMA)
        sink.write(pa.table({"id": [1, 2], "name": ["a", None]}, schema=SCHEMA))
        sink.close()

    assert (tmp_path / "a.csv").read_text().splitlines() == ['"id","name"', '1,"a"', "2,"]
