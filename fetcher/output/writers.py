"""The writers: a run's pages into one file per format, each published atomically.

Every file has the run's one unified schema and is written by its format's sink (formats.py). All
files of a run are staged completely before the first is published, and hashed as they are written.

Two ways to write, one result:
- `Streamer` writes pages while the run is still fetching, on a second thread, for as long as
  the run's schema holds. Writing then costs almost no time on the fetching thread.
- `write_files` writes spooled pages after the fetch, under the final schema. The runner uses it
  when a page widened the schema after streaming began.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO

import pyarrow as pa

from fetcher.output.formats import FORMATS, Sink
from fetcher.records.landing import RunStamp
from fetcher.records.schema import conform
from fetcher.storage.base import Staged, Storage, output_errors

_QUEUED_PAGES = 4


@dataclass(frozen=True)
class WrittenFile:
    """A published file, as the run record lists it."""

    path: str
    format: str
    rows: int
    bytes: int
    sha256: str


class _HashingFile:
    """A binary file that hashes and counts what goes through it."""

    def __init__(self, path: str) -> None:
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed by close())
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.bytes += view.nbytes
        return self._file.write(view)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self.closed = True
        self._file.close()


class FileSet:
    """One staged file per format, written page by page, then published or discarded together."""

    def __init__(self, storage: Storage, schema: pa.Schema, targets: Mapping[str, str]) -> None:
        self.schema = schema
        self.rows = 0
        self._storage = storage
        self._staged: dict[str, Staged] = {}
        self._files: dict[str, _HashingFile] = {}
        self._sinks: dict[str, Sink] = {}
        try:
            with output_errors(str(storage)):
                for fmt, relpath in targets.items():
                    self._staged[fmt] = storage.stage(relpath)
                    self._files[fmt] = _HashingFile(self._staged[fmt].temp_path)
                    self._sinks[fmt] = FORMATS[fmt](self._files[fmt], schema)
        except BaseException:
            self.discard()
            raise

    @property
    def _where(self) -> str:
        return next(iter(self._staged.values())).temp_path

    def write(self, table: pa.Table) -> None:
        """Append one page, already conformed to the schema."""
        with output_errors(self._where):
            for sink in self._sinks.values():
                sink.write(table)
        self.rows += table.num_rows

    def publish(self) -> list[WrittenFile]:
        """Finish every file, then publish them all together; on any failure, publish none."""
        try:
            with output_errors(self._where):
                for sink in self._sinks.values():
                    sink.close()
                for file in self._files.values():
                    file.close()  # pyarrow leaves the file open: flush it before fsync or upload
            written = [
                WrittenFile(
                    staged.relpath,
                    fmt,
                    self.rows,
                    self._files[fmt].bytes,
                    self._files[fmt].sha256.hexdigest(),
                )
                for fmt, staged in self._staged.items()
            ]
            self._storage.publish(*self._staged.values())
        except BaseException:
            self.discard()
            raise
        return written

    def discard(self) -> None:
        """Close and remove every staged file; never fails."""
        for sink in self._sinks.values():
            with contextlib.suppress(Exception):  # the file is being thrown away
                sink.abort()
        for file in self._files.values():
            if not file.closed:
                with contextlib.suppress(OSError):  # its last buffer may not fit on a full disk
                    file.close()
        for staged in self._staged.values():
            self._storage.discard(staged)


def write_files(
    storage: Storage,
    pages: Iterable[pa.Table],
    schema: pa.Schema,
    targets: Mapping[str, str],
    stamp: RunStamp,
) -> list[WrittenFile]:
    """Write `pages`, conformed to `schema` and stamped with the run's columns, to each
    `format -> relpath` in `targets`, and publish them."""
    files = FileSet(storage, stamp.schema(schema), targets)
    try:
        for page in pages:
            files.write(stamp.table(conform(page, schema)))
    except BaseException:
        files.discard()
        raise
    return files.publish()


class Streamer:
    """Writes pages on a background thread while they are fetched, as long as the schema holds.

    `offer` each page with the run's schema so far. The first page fixes the files' schema; a
    page that changes the run's schema (a new column, a wider type) ends streaming for good and
    discards what was streamed. `publish` then succeeds only if streaming is still `active`.
    """

    def __init__(self, storage: Storage, targets: Mapping[str, str], stamp: RunStamp) -> None:
        self._storage = storage
        self._targets = targets
        self._stamp = stamp
        self._schema: pa.Schema | None = None  # the run's schema when streaming began
        self._files: FileSet | None = None
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=_QUEUED_PAGES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.abandoned = False

    def __enter__(self) -> Streamer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._files is not None:
            self._stop(discard=True)

    @property
    def active(self) -> bool:
        return self._files is not None and not self.abandoned

    @property
    def schema(self) -> pa.Schema | None:
        """The run's schema as it stood at the first page, if streaming."""
        return self._schema if self._files is not None else None

    def offer(self, table: pa.Table, schema: pa.Schema) -> None:
        """Stream `table` if `schema` (the run's so far) is the one streaming started with."""
        self._raise_thread_error()
        if self.abandoned or table.num_rows == 0:
            return
        if self._files is None:
            self._schema = schema
            self._files = FileSet(self._storage, self._stamp.schema(schema), self._targets)
            self._thread = threading.Thread(
                target=self._drain, args=(self._files,), name="fetcher-writer", daemon=True
            )
            self._thread.start()
        elif not schema.equals(self._schema):
            self._stop(discard=True)
            self.abandoned = True
            return
        self._queue.put(self._stamp.table(conform(table, schema)))

    def publish(self) -> list[WrittenFile]:
        """Finish and publish the streamed files. Only when `active`."""
        assert self._files is not None and not self.abandoned
        files = self._stop(discard=False)
        return files.publish()

    def _drain(self, files: FileSet) -> None:
        try:
            while (table := self._queue.get()) is not None:
                files.write(table)
        except BaseException as exc:  # handed to the fetching thread by _raise_thread_error
            self._error = exc
            while self._queue.get() is not None:  # unblock the producer until it stops
                pass

    def _stop(self, *, discard: bool) -> FileSet:
        files, self._files = self._files, None
        assert files is not None and self._thread is not None
        self._queue.put(None)
        self._thread.join()
        if discard:
            files.discard()
            return files
        self._raise_thread_error(files)
        return files

    def _raise_thread_error(self, files: FileSet | None = None) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            if files is not None:
                files.discard()
            raise error
