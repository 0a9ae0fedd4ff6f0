"""A child source's parent rows: read from the parent's newest successful run's Parquet files.

A child reads its parent's published files, never a run in progress: files are published whole
and the run record that lists them only after them, so the newest successful run record names a
complete set. Parent and child run on their own schedules; the child takes the parent's rows as
of the parent's newest successful run (a run that found no rows gives the child no requests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fetcher.config.model import Source
from fetcher.config.parent import PARENT_PREFIX
from fetcher.config.placeholders import as_text
from fetcher.errors import FetcherError, RecordsError
from fetcher.run import history
from fetcher.storage.base import Storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParentRow:
    """One parent row as a child request uses it: its placeholder values, and the columns it adds."""

    number: int
    values: dict[str, Any]
    columns: dict[str, Any]


def read_rows(storage: Storage, source: Source) -> list[ParentRow]:
    """The rows of `source`'s parent, in the order its newest successful run wrote them.

    Raises FetcherError when the parent has no successful run, and RecordsError when a row lacks
    a value for a placeholder or the parent has no such column.
    """
    settings = source.parent
    assert settings is not None
    record = history.last_success(storage, settings.source)
    if record is None:
        raise FetcherError(
            f"the parent source {settings.source!r} has no successful run yet, so {source.name!r} has "
            f"no rows to request for; run it first: fetcher run --source {settings.source}"
        )
    table = _read_table(storage, record, settings.columns() + tuple(record.primary_key))
    logger.info(
        "event=parent source=%s parent=%s parent_run_id=%s rows=%d",
        source.name,
        settings.source,
        record.run_id,
        table.num_rows,
    )
    key = [name for name in record.primary_key if name in table.column_names]
    rows = []
    for number, row in enumerate(table.to_pylist(), start=1):
        values = {}
        for placeholder, column in settings.fields.items():
            if row[column] is None:
                raise RecordsError(
                    f"parent {settings.source!r} row {number}{_key(row, key)} (run_id={record.run_id}) "
                    f"has no value for {column!r}, which fills {{{placeholder}}}"
                )
            values[placeholder] = row[column]
        columns = {PARENT_PREFIX + name: _json_value(row[name]) for name in settings.include}
        rows.append(ParentRow(number, values, columns))
    return rows


def _read_table(storage: Storage, record: history.RunRecord, wanted: tuple[str, ...]) -> pa.Table:
    """The `wanted` columns of the run's Parquet files, in order; RecordsError naming a missing one."""
    paths = [file.path for file in record.files if file.format == "parquet"]
    if record.files and not paths:
        raise FetcherError(
            f"the parent's newest successful run (run_id={record.run_id}) wrote no Parquet file; "
            "add parquet to its formats and run it again"
        )
    if not paths:
        return pa.table({name: pa.nulls(0) for name in dict.fromkeys(wanted)})
    tables = []
    for path in paths:
        data = pq.ParquetFile(pa.BufferReader(storage.read_bytes(path)))
        names = data.schema_arrow.names
        missing = [name for name in dict.fromkeys(wanted) if name not in names]
        needed = [name for name in missing if name not in record.primary_key]
        if needed:
            raise RecordsError(
                f"parent {record.source!r} has no column {needed[0]!r} in its newest successful run "
                f"(run_id={record.run_id}); [sources.parent] fields and include name the parent's "
                f"landed columns: {', '.join(names)}"
            )
        tables.append(data.read(columns=[name for name in dict.fromkeys(wanted) if name in names]))
    return pa.concat_tables(tables, promote_options="permissive")


def _json_value(value: Any) -> Any:
    """A parent value as a record of the child holds it: JSON's types, anything else as text."""
    return value if value is None or isinstance(value, bool | int | float | str) else as_text(value)


def _key(row: dict[str, Any], key: list[str]) -> str:
    """` (id=7)`: the row's primary key, when the parent has one."""
    return f" ({', '.join(f'{name}={row[name]!r}' for name in key)})" if key else ""
