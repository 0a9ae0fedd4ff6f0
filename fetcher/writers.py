"""The writers: a run's spooled pages into one file per format, each published atomically.

Every file has the run's one unified schema. Parquet is written with zstd compression in row groups
of about 128k rows; CSV has a header row, empty fields for nulls and `""` for empty strings. All
files of a run are staged completely before the first is published.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fetcher.errors import OutputError
from fetcher.schema import conform
from fetcher.storage import LocalStorage, Staged

ROW_GROUP_ROWS = 128 * 1024


@dataclass(frozen=True)
class WrittenFile:
    """A published file, as the run record lists it."""

    path: str
    format: str
    rows: int
    bytes: int
    sha256: str


class _Sink(Protocol):
    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class _ParquetSink:
    """Buffers pages into row groups of ROW_GROUP_ROWS, so readers get few, large row groups."""

    def __init__(self, path: str, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=None)
            self._pending, self._pending_rows = [], 0


class _CsvSink:
    def __init__(self, path: str, schema: pa.Schema) -> None:
        self._writer = pacsv.CSVWriter(path, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


SINKS: dict[str, Callable[[str, pa.Schema], _Sink]] = {"parquet": _ParquetSink, "csv": _CsvSink}


def write_files(
    storage: LocalStorage,
    pages: Iterable[pa.Table],
    schema: pa.Schema,
    targets: Mapping[str, str],
    observe: Callable[[pa.Table], None] = lambda table: None,
) -> list[WrittenFile]:
    """Write `pages`, conformed to `schema`, to each `format -> relpath` in `targets`.

    `observe` sees every conformed page (the incremental cursor is taken from them).
    """
    staged = {fmt: storage.stage(relpath) for fmt, relpath in targets.items()}
    try:
        rows = _write_all(pages, schema, staged, observe)
        written = [_describe(fmt, item, rows) for fmt, item in staged.items()]
        for item in staged.values():
            storage.publish(item)
    except BaseException:
        for item in staged.values():
            storage.discard(item)
        raise
    return written


def _write_all(
    pages: Iterable[pa.Table],
    schema: pa.Schema,
    staged: Mapping[str, Staged],
    observe: Callable[[pa.Table], None],
) -> int:
    rows = 0
    try:
        with ExitStack() as closing:
            sinks = []
            for fmt, item in staged.items():
                sink = SINKS[fmt](item.temp_path, schema)
                closing.callback(sink.close)
                sinks.append(sink)
            for page in pages:
                table = conform(page, schema)
                observe(table)
                for sink in sinks:
                    sink.write(table)
                rows += table.num_rows
    except OSError as exc:
        raise OutputError(f"cannot write {os.path.dirname(next(iter(staged.values())).temp_path)}: {exc}") from None
    return rows


def _describe(fmt: str, staged: Staged, rows: int) -> WrittenFile:
    with open(staged.temp_path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    return WrittenFile(
        path=staged.relpath,
        format=fmt,
        rows=rows,
        bytes=os.path.getsize(staged.temp_path),
        sha256=digest,
    )
