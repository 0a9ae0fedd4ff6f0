"""The two metadata columns every data file carries last, and the checks tests make of them.

Tests that compare a file's rows with what the API served drop these columns explicitly, and
assert with `assert_run_columns` (Parquet, or any Arrow table) or `assert_csv_run_columns` (CSV
rows as text) that they are there, last, typed and filled with the run's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

RUN_COLUMNS = ("_fetched_at", "_run_id")


def without_run_columns(table: pa.Table) -> pa.Table:
    """`table` without `_fetched_at` and `_run_id`, to compare with what the API served."""
    return table.drop_columns(list(RUN_COLUMNS))


def assert_run_columns(table: pa.Table, run_id: str, started_at: datetime | None = None) -> None:
    """`table` ends with `_fetched_at` (timestamp[us, UTC]) and `_run_id` (string), filled on every
    row with the run's start and id; the start is read from `run_id` unless given."""
    assert tuple(table.column_names[-2:]) == RUN_COLUMNS, table.column_names
    assert table.schema.field("_fetched_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("_run_id").type == pa.string()
    start = started_at or datetime.strptime(run_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert table.column("_fetched_at").to_pylist() == [start] * table.num_rows
    assert table.column("_run_id").to_pylist() == [run_id] * table.num_rows


def assert_csv_run_columns(
    header: Sequence[str], rows: Sequence[Mapping[str, Any]], run_id: str, fetched_at: str | None = None
) -> None:
    """A CSV file's `header` ends with the metadata columns, and every row holds the run's start as
    ISO 8601 text with `Z` (`2026-11-21T10:00:05Z`) and its id; the start is read from `run_id`
    unless given."""
    assert tuple(header[-2:]) == RUN_COLUMNS, header
    text = fetched_at or datetime.strptime(run_id, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [(row["_fetched_at"], row["_run_id"]) for row in rows] == [(text, run_id)] * len(rows)
