"""Run records: one JSON document per run, success or failure, in the source's `_runs/` directory.

A `RunRecord` is built up while its run goes, saved once when it ends, and read back as a
`RunRecord` (msgspec converts the JSON document into the dataclasses, checking every type).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from fetcher.errors import Conflict, FetcherError, FetchError, OutputError
from fetcher.output.writers import WrittenFile
from fetcher.redact import redact
from fetcher.run.changes import SchemaChange
from fetcher.storage import layout
from fetcher.storage.base import Storage

SUCCEEDED = "succeeded"
FAILED = "failed"
RUNNING = "running"
RUN = "run"
BACKFILL = "backfill"


@dataclass(frozen=True)
class RunError:
    """Why a run failed: the error's type, its redacted message, the HTTP status if there was one.

    `bug` marks an unexpected exception (not a FetcherError): a fault of the fetcher, not the API.
    """

    type: str
    message: str
    status: int | None = None
    bug: bool = False

    @classmethod
    def of(cls, error: BaseException) -> RunError:
        status = error.status if isinstance(error, FetchError) else None
        return cls(
            type(error).__name__,
            redact(str(error) or repr(error)),
            status=status,
            bug=not isinstance(error, FetcherError),
        )

    def to_json(self) -> dict[str, Any]:
        """The error as the run record holds it: `status` and `bug` only when they say something."""
        document: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.status is not None:
            document["status"] = self.status
        if self.bug:
            document["bug"] = True
        return document


@dataclass(frozen=True)
class GuardCheck:
    """One data guard's verdict on a run: which guard, its action, whether it tripped, and why."""

    guard: str
    action: str
    tripped: bool
    message: str


@dataclass
class RunRecord:
    """What one run did. Built up while the run goes, saved once when it ends.

    `kind` is `run` for a scheduled or one-off run, `backfill` for one window of a backfill;
    `window_start` and `window_end` give the time range a windowed run asked for.
    """

    source: str
    started_at: datetime
    status: str = RUNNING
    finished_at: datetime | None = None
    duration_s: float | None = None
    pages: int = 0
    records: int = 0
    duplicates_dropped: int = 0
    attempts: int = 0
    retries: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    files: list[WrittenFile] = field(default_factory=list)
    cursor: Any = None
    error: RunError | None = None
    schema_change: SchemaChange | None = None
    primary_key: list[str] = field(default_factory=list)
    guards: list[GuardCheck] = field(default_factory=list)
    kind: str = RUN
    window_start: str | None = None
    window_end: str | None = None
    _clock: float = field(default_factory=time.monotonic, repr=False, compare=False)
    _saved: str | None = field(default=None, repr=False, compare=False)  # the version `save` wrote

    @property
    def run_id(self) -> str:
        return layout.run_id(self.started_at)

    @property
    def ended_at(self) -> datetime:
        """When the run finished, or, for a run that never did, when it started."""
        return self.finished_at or self.started_at

    @property
    def warnings(self) -> list[str]:
        """What each guard that tripped with action `warn` says: `guard {name}: {message}`."""
        return [
            f"guard {check.guard}: {check.message}"
            for check in self.guards
            if check.tripped and check.action == "warn"
        ]

    def finish(self, error: BaseException | None = None) -> None:
        self.finished_at = datetime.now(UTC)
        self.duration_s = round(time.monotonic() - self._clock, 3)
        if error is None:
            self.status = SUCCEEDED
            return
        self.status = FAILED
        self.error = RunError.of(error)

    def to_json(self) -> dict[str, Any]:
        """The record as its JSON document holds it, keys in this order."""
        return {
            "run_id": self.run_id,
            "source": self.source,
            "started_at": _iso(self.started_at),
            "status": self.status,
            "finished_at": _iso(self.finished_at) if self.finished_at else None,
            "duration_s": self.duration_s,
            "pages": self.pages,
            "records": self.records,
            "duplicates_dropped": self.duplicates_dropped,
            "attempts": self.attempts,
            "retries": self.retries,
            "columns": self.columns,
            "files": [dataclasses.asdict(written) for written in self.files],
            "cursor": self.cursor,
            "error": self.error.to_json() if self.error else None,
            "schema_change": dataclasses.asdict(self.schema_change) if self.schema_change else None,
            "primary_key": self.primary_key,
            "guards": [dataclasses.asdict(check) for check in self.guards],
            "kind": self.kind,
            "window_start": self.window_start,
            "window_end": self.window_end,
        }

    @classmethod
    def from_json(cls, document: Any) -> RunRecord:
        """The record a JSON document (as `to_json` writes it) holds; ValueError if it is not one."""
        try:
            return msgspec.convert(document, cls)
        except msgspec.ValidationError as exc:
            raise ValueError(f"not a run record: {exc}") from None


def save(storage: Storage, record: RunRecord) -> str:
    """Publish `record` atomically; return its path relative to output_dir.

    The first save creates the record only where there is none (a run id is unique: Conflict when
    another run of the same second wrote it); saving again replaces only this run's own version.
    """
    relpath = layout.run_record(record.source, record.run_id)
    try:
        record._saved = storage.write_json(relpath, record.to_json(), replaces=record._saved)
    except Conflict as exc:
        raise Conflict(
            f"another run of {record.source} saved the run record {record.run_id} first: {exc}"
        ) from None
    return relpath


def exists(storage: Storage, source: str, started: datetime) -> bool:
    """Whether a run of `source` that started in that second has a run record."""
    return layout.run_id(started) in _run_ids(storage, source)


def latest(storage: Storage, source: str, kind: str | None = RUN) -> RunRecord | None:
    """The newest run record of `source` of that kind (None: any), or None before its first run.

    Health, status, the report and the guards follow the source's runs: a backfill's windows are
    not among them (`kind=RUN`, the default, in every reader of the history).
    """
    return next(_records(storage, source, kind), None)


def last_success(storage: Storage, source: str, kind: str | None = RUN) -> RunRecord | None:
    """The newest successful run record of `source` of that kind (None: any), or None."""
    return next(successes(storage, source, kind), None)


def recent(storage: Storage, source: str, limit: int, kind: str | None = RUN) -> list[RunRecord]:
    """The newest `limit` run records of `source` of that kind (None: any), oldest first."""
    return list(reversed(list(itertools.islice(_records(storage, source, kind), limit))))


def successes(storage: Storage, source: str, kind: str | None = RUN) -> Iterator[RunRecord]:
    """The successful run records of `source` of that kind (None: any), newest first, read as they
    are asked for."""
    return (record for record in _records(storage, source, kind) if record.status == SUCCEEDED)


def last_columns(storage: Storage, source: str) -> dict[str, str] | None:
    """The columns of the newest successful run of `source` that wrote any, or None."""
    return next((record.columns for record in successes(storage, source) if record.columns), None)


def _records(storage: Storage, source: str, kind: str | None) -> Iterator[RunRecord]:
    """The run records of `source` of that kind (None: any), newest first, read as they are asked for."""
    for run in reversed(_run_ids(storage, source)):
        record = _load(storage, layout.run_record(source, run))
        if record is not None and kind in (None, record.kind):
            yield record


def _run_ids(storage: Storage, source: str) -> list[str]:
    """The runs of `source` that have a record, oldest first (run ids sort by time)."""
    return [run for name in storage.list(layout.runs_dir(source)) if (run := layout.run_of_record(name))]


def _load(storage: Storage, relpath: str) -> RunRecord | None:
    document = storage.read_json(relpath)
    if document is None:
        return None
    try:
        return RunRecord.from_json(document)
    except ValueError as exc:
        raise OutputError(f"cannot read {storage}/{relpath}: {exc}") from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
