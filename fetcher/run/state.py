"""Incremental state: the largest cursor value committed so far, in the source's state file.

The state advances only after the run's files are published, so a crash can repeat records in the
next run but never skip any: delivery is at least once. It is saved only over the version a run
read before it loaded its cursor: when another run (on another host, say) saved it in between,
the save fails with Conflict and the state keeps that run's cursor, never moving backwards. The
losing run's files stay published; the next run fetches their records again.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.config.model import Incremental
from fetcher.errors import Conflict
from fetcher.records.landing import json_value
from fetcher.storage import layout
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)


def load_cursor(storage: Storage, source: str, incremental: Incremental) -> Any:
    """The cursor to send: the saved one, else `initial` (None means send nothing)."""
    document = storage.read_json(layout.state_file(source))
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


def version(storage: Storage, source: str) -> str | None:
    """The version of the state of `source` now (None before its first save), for `save_cursor`.

    Read before the cursor: a save by another run between the two only makes this run's save fail.
    """
    return storage.version(layout.state_file(source))


def as_param(cursor: Any) -> str:
    """The cursor as a query parameter: strings as they are, numbers as JSON writes them."""
    return cursor if isinstance(cursor, str) else json.dumps(cursor)


def save_cursor(
    storage: Storage, source: str, incremental: Incremental, cursor: Any, run_id: str, *, replaces: str | None
) -> None:
    """Save `cursor` over the state version `replaces` (from `version`); raise Conflict, saving
    nothing, when another run saved the state since."""
    document = {
        "cursor_field": incremental.cursor_field,
        "cursor": json_value(cursor),
        "run_id": run_id,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        storage.write_json(layout.state_file(source), document, replaces=replaces)
    except Conflict as exc:
        raise Conflict(
            f"another run of {source} saved the state first ({exc}); it keeps that run's cursor. "
            'Keep runs of a source from overlapping: on S3, set lock = "s3"'
        ) from None


class CursorTracker:
    """The largest value of the column `field` across a run's pages, as the API served it.

    It sees each page as flattened, before the run's types are applied, so that the cursor sent
    back is the API's own text (a timestamp keeps its spelling and offset).
    """

    def __init__(self, field: str, previous: Any) -> None:
        self.field = field
        self.value = previous
        self.seen = False

    def __call__(self, table: pa.Table) -> None:
        if self.field not in table.column_names:
            return
        largest = pc.max(table.column(self.field)).as_py()
        if largest is None:
            return
        self.seen = True
        if self.value is None or _later(largest, self.value):
            self.value = largest


def _later(new: Any, old: Any) -> bool:
    """Numbers compare as numbers, strings as text; a cursor that changed type takes the new one."""
    if (_is_number(new) and _is_number(old)) or type(new) is type(old):
        return bool(new > old)
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
