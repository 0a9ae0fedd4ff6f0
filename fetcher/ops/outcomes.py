"""Outcomes: how each source's latest run ended, kept on this host for health, status and signals.

A run writes its run record into `output_dir`; a run that fails before it can (a read-only or
full output directory, an unreachable bucket) has nowhere there to say so. So after every run the
command line also keeps its `Outcome` in a small local file per source, in the status directory
(`FETCHER_STATUS_DIR`; in the container `/run/fetcher/status`), which health and status read
beside the run records; fetcher.ops.signals then sends the run's signals with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fetcher.config import environment
from fetcher.errors import FetcherError
from fetcher.run.history import SUCCEEDED, RunRecord

FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """How one run of a source ended, as every signal reports it.

    `run_id` is None for a run that failed before it could start its run record; `error` is the
    one-line, redacted reason a run failed (a failing data guard names itself there); `warnings`
    are the messages of the guards that tripped with action `warn`; `last_success_at` is when the
    source last succeeded.
    """

    source: str
    status: str
    finished_at: datetime
    run_id: str | None = None
    started_at: datetime | None = None
    duration_s: float = 0.0
    records: int = 0
    pages: int = 0
    retries: int = 0
    files: int = 0
    error: str | None = None
    cursor: Any = None
    last_success_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @classmethod
    def of_record(cls, record: RunRecord, previous: Outcome | None) -> Outcome:
        """The outcome a run record tells."""
        finished = record.ended_at
        return cls(
            source=record.source,
            status=record.status,
            finished_at=finished,
            run_id=record.run_id,
            started_at=record.started_at,
            duration_s=record.duration_s or 0.0,
            records=record.records,
            pages=record.pages,
            retries=record.retries,
            files=len(record.files),
            error=record.error.message if record.error else None,
            cursor=record.cursor,
            last_success_at=finished if record.status == SUCCEEDED else _last_success(previous),
            warnings=tuple(record.warnings),
        )

    @classmethod
    def of_error(cls, source: str, error: FetcherError, previous: Outcome | None) -> Outcome:
        """The outcome of a run that failed before it could write its run record."""
        return cls(
            source=source,
            status=FAILED,
            finished_at=datetime.now(UTC),
            error=str(error),
            last_success_at=_last_success(previous),
        )

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        for key in ("finished_at", "started_at", "last_success_at"):
            if document[key] is not None:
                document[key] = document[key].isoformat()
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Outcome:
        values = dict(document)
        for key in ("finished_at", "started_at", "last_success_at"):
            if values.get(key) is not None:
                values[key] = datetime.fromisoformat(values[key])
        values["warnings"] = tuple(values.get("warnings", ()))
        return cls(**values)


def status_dir() -> str:
    """Where outcomes are kept: `FETCHER_STATUS_DIR`, else a folder under the temporary directory."""
    return environment.status_dir() or os.path.join(tempfile.gettempdir(), "fetcher-status")


def load(source: str, directory: str | None = None) -> Outcome | None:
    """The latest outcome kept for `source`, or None (never kept, or unreadable)."""
    path = _path(source, directory)
    try:
        with open(path, encoding="utf-8") as file:
            return Outcome.from_json(json.load(file))
    except (OSError, ValueError, TypeError):
        return None


def save(outcome: Outcome, directory: str | None = None) -> None:
    """Keep `outcome` as its source's latest, atomically (a reader sees the old one or the new)."""
    path = _path(outcome.source, directory)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as file:
        json.dump(outcome.to_json(), file, default=str)
    os.replace(temp, path)


def _path(source: str, directory: str | None) -> str:
    return os.path.join(directory or status_dir(), f"{quote(source, safe='')}.json")


def _last_success(previous: Outcome | None) -> datetime | None:
    return previous.last_success_at if previous is not None else None
