"""The spool: pages on disk, read back in order, removed afterwards."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from fetcher.output.spool import Spool


def test_spool_reads_pages_back_in_order_across_schema_changes(tmp_path: Path) -> None:
    pages = [pa.table({"a": [1, 2]}), pa.table({"a": [3], "b": ["x"]}), pa.table({"a": [4]})]

    with Spool(str(tmp_path), "run") as spool:
        for page in pages:
            spool.append(page)
        back = list(spool.tables())

    assert [table.to_pylist() for table in back] == [table.to_pylist() for table in pages]
    assert spool.rows == 4


def test_spool_removes_its_files_on_exit(tmp_path: Path) -> None:
    with Spool(str(tmp_path), "run") as spool:
        spool.append(pa.table({"a": [1]}))
        assert [path.name for path in tmp_path.iterdir()] == [".run.spool0.tmp"]

    assert list(tmp_path.iterdir()) == []


def test_spool_skips_empty_pages(tmp_path: Path) -> None:
    with Spool(str(tmp_path), "run") as spool:
        spool.append(pa.table({"a": pa.array([], pa.int64())}))

        assert list(spool.tables()) == [] and spool.rows == 0
