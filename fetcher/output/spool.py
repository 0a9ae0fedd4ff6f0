"""The spool: a run's pages on local disk, in order, until the run's schema is known.

Pages are appended as Arrow IPC record batches, so memory holds one page at a time however long
the run. A page whose columns differ from the previous page's starts a new segment file.
Reading back yields the pages in their original order, one at a time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from types import TracebackType

import pyarrow as pa

from fetcher.storage import layout
from fetcher.storage.base import output_errors


class Spool:
    """Append page tables, then read them back in order. Files are removed on exit."""

    def __init__(self, directory: str, prefix: str) -> None:
        self._directory = directory
        self._prefix = prefix
        self._segments: list[str] = []
        self._sink: pa.NativeFile | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):  # flushing onto a full disk: the files go anyway
            self._close_writer()
        for path in self._segments:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def append(self, table: pa.Table) -> None:
        """Add one page; an empty page adds nothing."""
        if table.num_rows == 0:
            return
        with output_errors(self._directory):
            if self._writer is None or table.schema != self._schema:
                self._open_segment(table.schema)
            assert self._writer is not None
            self._writer.write_table(table)
        self.rows += table.num_rows

    def tables(self) -> Iterator[pa.Table]:
        """The pages, in the order appended, one at a time."""
        self._close_writer()
        for path in self._segments:
            with output_errors(path), pa.OSFile(path, "rb") as source:
                reader = pa.ipc.open_file(source)
                for index in range(reader.num_record_batches):
                    yield pa.Table.from_batches([reader.get_batch(index)])

    def _open_segment(self, schema: pa.Schema) -> None:
        self._close_writer()
        # A temporary name: a run that dies leaves it for the next run's clean-up.
        path = os.path.join(self._directory, layout.temp_name(self._prefix, f"spool{len(self._segments)}"))
        self._segments.append(path)
        self._sink = pa.OSFile(path, "wb")
        self._writer = pa.ipc.new_file(self._sink, schema)
        self._schema = schema

    def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        sink, self._sink = self._sink, None
        try:
            if writer is not None:
                writer.close()
        finally:
            if sink is not None:
                sink.close()
