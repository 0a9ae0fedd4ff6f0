"""Run records: one JSON document per run, success or failure, in `{output_dir}/{name}/_runs/`."""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fetcher.errors import FetcherError, FetchError
from fetcher.output.writers import WrittenFile
from fetcher.redact import redact
from fetcher.storage.local import Storage

SUCCEEDED = "succeeded"
FAILED = "failed"
RUNNING = "running"
_RECORD_NAME = re.compile(r"\d{8}T\d{6}Z\.json")


def run_id(started: datetime) -> str:
    """`20261121T100000Z`: the run's start, in UTC, to the second; it also names the files."""
    return started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class RunRecord:
    """What one run did. Built up while the run goes, saved once when it ends."""

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
    error: dict[str, Any] | None = None
    _clock: float = field(default_factory=time.monotonic, repr=False)

    @property
    def run_id(self) -> str:
        return run_id(self.started_at)

    def finish(self, error: BaseException | None = None) -> None:
        self.finished_at = datetime.now(UTC)
        self.duration_s = round(time.monotonic() - self._clock, 3)
        if error is None:
            self.status = SUCCEEDED
            return
        self.status = FAILED
        self.error = {"type": type(error).__name__, "message": redact(str(error) or repr(error))}
        if isinstance(error, FetchError) and error.status is not None:
            self.error["status"] = error.status
        if not isinstance(error, FetcherError):
            self.error["bug"] = True

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"run_id": self.run_id}
        for item in dataclasses.fields(self):
            if not item.name.startswith("_"):
                document[item.name] = getattr(self, item.name)
        document["started_at"] = _iso(self.started_at)
        document["finished_at"] = _iso(self.finished_at) if self.finished_at else None
        document["files"] = [dataclasses.asdict(written) for written in self.files]
        return document


def save(storage: Storage, record: RunRecord) -> str:
    """Publish `record` atomically; return its path relative to output_dir."""
    relpath = f"{record.source}/_runs/{record.run_id}.json"
    storage.write_json(relpath, record.to_json())
    return relpath


def exists(storage: Storage, source: str, started: datetime) -> bool:
    return f"{run_id(started)}.json" in storage.list(f"{source}/_runs")


def latest(storage: Storage, source: str) -> dict[str, Any] | None:
    """The newest run record of `source`, or None before its first run."""
    names = [name for name in storage.list(f"{source}/_runs") if _RECORD_NAME.fullmatch(name)]
    return storage.read_json(f"{source}/_runs/{names[-1]}") if names else None


def last_success(storage: Storage, source: str) -> dict[str, Any] | None:
    """The newest successful run record of `source`, or None."""
    names = [name for name in storage.list(f"{source}/_runs") if _RECORD_NAME.fullmatch(name)]
    for name in reversed(names):
        document = storage.read_json(f"{source}/_runs/{name}")
        if document and document.get("status") == SUCCEEDED:
            return document
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
