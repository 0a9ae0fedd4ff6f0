"""The formats a source can be written in: one table of names, each with the sink that writes it.

The configuration checks `formats` against this table and the writers dispatch on it, so a new
format is one sink class and one entry in `FORMATS`. pyarrow is imported by the sinks, not here:
reading the table (as the configuration does) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

# Large enough for readers to skip and scan well (DuckDB's own groups are 122,880 rows), small
# enough that the rows pending for the next one stay a small part of a run's memory.
ROW_GROUP_ROWS = 64 * 1024


class Output(Protocol):
    """The binary file a sink writes into."""

    def write(self, data: Any) -> int: ...


class Sink(Protocol):
    """Writes one file of a format, page by page: `close` finishes it, `abort` gives it up."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class _ParquetSink:
    """zstd-compressed; pages buffered into row groups of ROW_GROUP_ROWS, few and large for readers."""

    def __init__(self, file: Output, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(file, schema, compression="zstd")
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

    def abort(self) -> None:
        """Close without encoding what is pending: the file is being thrown away."""
        self._pending, self._pending_rows = [], 0
        self._writer.close()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=None)
            self._pending, self._pending_rows = [], 0


class _CsvSink:
    """A header row, empty fields for nulls and `""` for empty strings (pyarrow's CSV writer);
    timestamps as ISO 8601 text, with `Z` when they are in UTC (records.landing.csv_ready)."""

    def __init__(self, file: Output, schema: pa.Schema) -> None:
        import pyarrow.csv as pacsv

        from fetcher.records.landing import csv_ready

        self._ready = csv_ready
        self._writer = pacsv.CSVWriter(file, csv_ready(schema.empty_table()).schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(self._ready(table))

    def close(self) -> None:
        self._writer.close()

    abort = close


# Every format, by the name the configuration uses; sources write all of them by default, in order.
FORMATS: dict[str, Callable[[Output, pa.Schema], Sink]] = {"parquet": _ParquetSink, "csv": _CsvSink}
