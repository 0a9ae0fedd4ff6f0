"""Incremental state: the largest cursor value committed so far, in `{name}/_state.json`.

The state advances only after the run's files are published, so a crash can repeat records in the
next run but never skip any: delivery is at least once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.config import Incremental
from fetcher.storage import Storage

logger = logging.getLogger(__name__)


def relpath(source: str) -> str:
    return f"{source}/_state.json"


def load_cursor(storage: Storage, source: str, incremental: Incremental) -> Any:
    """The cursor to send: the saved one, else `initial` (None means send nothing)."""
    document = storage.read_json(relpath(source))
    if not document:
        return incremental.initial
    if document.get("cursor_field") != incremental.cursor_field:
        logger.warning(
            "event=state_ignored source=%s reason=cursor_field_changed saved=%s configured=%s",
            source,
            document.get("cursor_field"),
            incremental.cursor_field,
        )
        return incremental.initial
    return document.get("cursor")


def save_cursor(storage: Storage, source: str, incremental: Incremental, cursor: Any, run_id: str) -> None:
    storage.write_json(
        relpath(source),
        {
            "cursor_field": incremental.cursor_field,
            "cursor": cursor,
            "run_id": run_id,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


class CursorTracker:
    """The largest value of `field` across a run's conformed pages."""

    def __init__(self, field: str, previous: Any) -> None:
        self.field = field
        self.previous = previous
        self.reset()

    def reset(self) -> None:
        """Forget the pages seen so far (they are about to be written again)."""
        self.value = self.previous
        self.seen = False

    def __call__(self, table: pa.Table) -> None:
        if self.field not in table.column_names:
            return
        largest = pc.max(table.column(self.field)).as_py()
        if largest is None:
            return
        self.seen = True
        if self.value is None or type(self.value) is not type(largest) or largest > self.value:
            self.value = largest
