"""Reading a source's landed history back, for people: `fetcher.read(output_dir, "orders")`.

Built on pyarrow.dataset, which finds the data files under the source's directory (skipping the
`_runs/`, `_state.json` and temporary `.` names), reads the `fetch_date=` partitions, and streams
the files. Across runs a column may be added, or retyped (an integer column that later held text):
the dataset's schema is every column seen in any file, each with a type that holds every file's
values (Arrow's permissive promotion; text where no type does), so the whole history reads as one.

`latest=True` keeps the newest snapshot: the rows of the newest run that wrote any, or, for an
incremental source with a `primary_key`, the newest row (by `_fetched_at`) of every key ever seen.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from pyarrow import fs

from fetcher.config import environment
from fetcher.errors import FetcherError
from fetcher.records.names import FETCH_DATE, FETCHED_AT, RUN_ID
from fetcher.run import history
from fetcher.storage import layout, open_filesystem, open_storage

_PARTITIONING = ds.partitioning(pa.schema([(layout.PARTITION_KEY, pa.date32())]), flavor="hive")


def read_table(
    output_dir: str,
    source: str,
    *,
    latest: bool = False,
    columns: Sequence[str] | None = None,
    s3_endpoint_url: str | None = None,
) -> pa.Table:
    """A source's landed rows as an Arrow table: its whole history, or its newest snapshot.

    `output_dir` is a directory or `s3://bucket/prefix` (at `s3_endpoint_url`, else the standard
    AWS endpoint variables). `columns` picks columns, `fetch_date` among them. Raises FetcherError
    when the source has landed no data file. `fetcher.read` is the same, as a pandas DataFrame.
    """
    endpoint = s3_endpoint_url or environment.s3_endpoint_url(os.environ)
    dataset = _dataset(output_dir, source, endpoint)
    if not latest:
        return dataset.to_table(columns=_columns(dataset, columns))
    key = _primary_key(output_dir, source, endpoint)
    if key:
        return _newest_per_key(dataset, key, columns)
    newest = pc.max(dataset.to_table(columns=[RUN_ID]).column(RUN_ID))
    return dataset.to_table(columns=_columns(dataset, columns), filter=ds.field(RUN_ID) == newest)


def _dataset(output_dir: str, source: str, endpoint: str | None) -> ds.Dataset:
    """The source's Parquet files as one dataset, typed to hold the whole history."""
    filesystem, root = open_filesystem(output_dir, endpoint)
    base = f"{root.rstrip('/')}/{source}"
    found = filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    files = sorted(info.path for info in found if layout.is_data_file(info.path, "parquet"))
    if not files:
        raise FetcherError(f"{output_dir}/{source}: no Parquet file has landed yet; has the source run?")
    options = {"filesystem": filesystem, "format": "parquet", "partitioning": _PARTITIONING}
    discovered = ds.dataset(files, partition_base_dir=base, **options)
    schema = _history_schema([fragment.physical_schema for fragment in discovered.get_fragments()])
    return ds.dataset(files, partition_base_dir=base, schema=schema, **options)


def _history_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """Every column of every file, in order of appearance, typed to hold every file's values."""
    types: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            types.setdefault(field.name, []).append(field.type)
    fields = [pa.field(name, _common_type(kinds)) for name, kinds in types.items()]
    return pa.schema([*fields, pa.field(FETCH_DATE, pa.date32())])


def _common_type(kinds: list[pa.DataType]) -> pa.DataType:
    common = kinds[0]
    for kind in kinds[1:]:
        try:
            merged = pa.unify_schemas(
                [pa.schema([("c", common)]), pa.schema([("c", kind)])], promote_options="permissive"
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.string()
        common = merged.field("c").type
    return common


def _columns(dataset: ds.Dataset, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    unknown = [name for name in columns if name not in dataset.schema.names]
    if unknown:
        raise FetcherError(f"no such column: {', '.join(unknown)}; have: {', '.join(dataset.schema.names)}")
    return list(columns)


def _primary_key(output_dir: str, source: str, endpoint: str | None) -> list[str]:
    storage = open_storage(output_dir, endpoint)
    try:
        record = history.last_success(storage, source, kind=None)
    finally:
        storage.close()
    return record.primary_key if record is not None else []


def _newest_per_key(dataset: ds.Dataset, key: list[str], columns: Sequence[str] | None) -> pa.Table:
    """The newest row of every key (rows sorted newest first, the first of each key kept); rows
    without a key are all kept, as the run kept them."""
    table = dataset.to_table().sort_by([(FETCHED_AT, "descending")])
    rows = pa.array(range(table.num_rows), pa.int64())
    keyless = pc.is_null(table.column(key[0]).combine_chunks())
    for name in key[1:]:
        keyless = pc.and_(keyless, pc.is_null(table.column(name).combine_chunks()))
    keyed = table.append_column("_row", rows).filter(pc.invert(keyless))
    firsts = keyed.group_by(key, use_threads=False).aggregate([("_row", "min")]).column("_row_min")
    kept = pa.concat_arrays([firsts.combine_chunks(), rows.filter(keyless)])
    newest = table.take(pc.take(kept, pc.sort_indices(kept)))
    return newest.select(_columns(dataset, columns)) if columns is not None else newest


def preview(table: pa.Table, source: str, *, limit: int = 10) -> str:
    """For a terminal: the rows and columns of `table`, each column's type, and its first rows."""
    lines = [f"{source}: {table.num_rows} row(s), {table.num_columns} column(s)"]
    width = max((len(name) for name in table.column_names), default=0)
    lines += [f"  {field.name.ljust(width)}  {field.type}" for field in table.schema]
    if limit > 0 and table.num_rows:
        frame = table.slice(0, limit).to_pandas()
        lines += ["", frame.to_string(index=False, max_colwidth=40)]
    return "\n".join(lines)
