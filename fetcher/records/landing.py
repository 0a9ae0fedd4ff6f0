"""What lands beside the records: the run's metadata columns, and CSV's text for real types.

Every row carries `_fetched_at` (the run's start, timestamp[us, tz=UTC]) and `_run_id` (string),
as `_dlt_load_id` or `_airbyte_extracted_at` do, so a reader can always tell which run a row came
from. A record field that would land on one of these names is renamed (names.RESERVED).

CSV holds text, so `csv_ready` writes each timestamp as ISO 8601: `2025-03-01T10:00:00Z` with an
offset of UTC, no `Z` for a naive one, and 6 fractional digits only when the microseconds are not
zero (`2025-03-01T10:00:00.500000Z`). Dates are `YYYY-MM-DD`, as Arrow's CSV writer already does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.records.convert import TIMESTAMP_TZ
from fetcher.records.names import FETCHED_AT, RUN_ID

RUN_FIELDS = (pa.field(FETCHED_AT, TIMESTAMP_TZ), pa.field(RUN_ID, pa.string()))


def with_run_fields(schema: pa.Schema) -> pa.Schema:
    """The run's schema with its metadata columns last."""
    return pa.schema([*schema, *RUN_FIELDS])


def with_run_columns(table: pa.Table, run_id: str, started_at: datetime) -> pa.Table:
    """A conformed page with `_fetched_at` (`started_at`, in UTC) and `_run_id` appended."""
    if started_at.tzinfo is None:
        raise ValueError("started_at must carry its time zone")
    fetched_at = pa.repeat(pa.scalar(started_at.astimezone(UTC), TIMESTAMP_TZ), table.num_rows)
    stamp = pa.repeat(pa.scalar(run_id, pa.string()), table.num_rows)
    return pa.Table.from_arrays([*table.columns, fetched_at, stamp], schema=with_run_fields(table.schema))


class RunStamp(NamedTuple):
    """The run a page belongs to: what its `_run_id` and `_fetched_at` columns hold."""

    run_id: str
    started_at: datetime

    def schema(self, schema: pa.Schema) -> pa.Schema:
        """A file's schema: the run's columns, then the metadata columns."""
        return with_run_fields(schema)

    def table(self, table: pa.Table) -> pa.Table:
        """A conformed page, stamped with the metadata columns."""
        return with_run_columns(table, self.run_id, self.started_at)


def csv_ready(table: pa.Table) -> pa.Table:
    """`table` with each timestamp column as its ISO 8601 text, for a CSV writer; the rest unchanged."""
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            column, field = _iso_text(column, field.type.tz is not None), pa.field(field.name, pa.string())
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def json_value(value: Any) -> Any:
    """A landed cell as JSON can hold it (for a cursor or a run record): times as csv_ready's text,
    decimals as their digits; anything else unchanged."""
    if isinstance(value, datetime):
        utc = value.tzinfo is not None
        text = (value.astimezone(UTC) if utc else value).replace(tzinfo=None).isoformat()
        return text + "Z" if utc else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _iso_text(column: pa.ChunkedArray, utc: bool) -> pa.ChunkedArray:
    # Arrow's text of a naive timestamp[us] is `2025-03-01 10:00:00.000000`; it is fifty times faster
    # than strftime, which looks up the time zone for every value. So the values are taken in UTC,
    # to the microsecond, as naive ones, written, and the text set right.
    utc_us = pc.cast(column, pa.timestamp("us", "UTC" if utc else None))
    text = pc.cast(utc_us.cast(pa.int64()).cast(pa.timestamp("us")), pa.string())
    text = pc.replace_substring(text, " ", "T", max_replacements=1)
    whole_seconds = pc.ends_with(text, ".000000")
    text = pc.if_else(whole_seconds, pc.utf8_slice_codeunits(text, 0, len("2025-03-01T10:00:00")), text)
    return pc.binary_join_element_wise(text, "Z", "") if utc else text
