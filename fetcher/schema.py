"""Schema unification: one schema for a whole run, however the pages drifted.

Columns keep the order in which they first appeared. Each column's type is the join of its types
across pages: null joins anything; int64 and float64 make float64, unless some integer exceeds
2**53 and would lose precision, which makes string; any other pair makes string. Casting to string
writes integers and booleans as their JSON text, and floats as Python's shortest repr in JSON
(`1.5`, `1e+20`, `NaN`), exactly as a mixed column within one page would have.
"""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.logs import quote

logger = logging.getLogger(__name__)

_FLOAT_EXACT_INT = 2**53
_NULL, _BOOL, _INT, _FLOAT, _STRING = pa.null(), pa.bool_(), pa.int64(), pa.float64(), pa.string()


class Unifier:
    """Accumulates the types of every page of a run and logs each drift as it happens."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._types: dict[str, pa.DataType] = {}
        self._wide_ints: set[str] = set()
        self._pages = 0

    def observe(self, table: pa.Table) -> None:
        """Fold one page's column types into the run's schema."""
        self._pages += 1
        for name, column in zip(table.column_names, table.columns, strict=True):
            kind = column.type
            if kind == _INT and _has_wide_ints(column):
                self._wide_ints.add(name)
            before = self._types.get(name)
            if before is None:
                self._types[name] = kind
                if self._pages > 1:
                    logger.info(
                        "event=schema_drift source=%s page=%d column=%s change=added type=%s",
                        self.source,
                        self._pages,
                        quote(name),
                        kind,
                    )
                continue
            after = _join(before, kind, wide_ints=name in self._wide_ints)
            if after != before:
                self._types[name] = after
                if before != _NULL:
                    logger.info(
                        "event=schema_drift source=%s page=%d column=%s change=widened from=%s to=%s",
                        self.source,
                        self._pages,
                        quote(name),
                        before,
                        after,
                    )

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(self._types.items()))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns: missing ones null, narrower ones cast."""
    columns = []
    for item in schema:
        if item.name in table.column_names:
            columns.append(_cast(table.column(item.name), item.type))
        else:
            columns.append(pa.nulls(table.num_rows, item.type))
    return pa.Table.from_arrays(columns, schema=schema)


def describe(schema: pa.Schema) -> str:
    """`id:int64,name:string,…` for the log."""
    return ",".join(f"{item.name}:{item.type}" for item in schema)


def _join(left: pa.DataType, right: pa.DataType, *, wide_ints: bool) -> pa.DataType:
    if left == right:
        return left
    if left == _NULL:
        return right
    if right == _NULL:
        return left
    if {left, right} == {_INT, _FLOAT} and not wide_ints:
        return _FLOAT
    return _STRING


def _cast(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if column.type == kind:
        return column
    if kind == _STRING and column.type == _FLOAT:
        return pa.array(
            [None if value is None else json.dumps(value) for value in column.to_pylist()], _STRING
        )
    return pc.cast(column, kind)


def _has_wide_ints(column: pa.ChunkedArray) -> bool:
    bounds = pc.min_max(column)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is not None and (high > _FLOAT_EXACT_INT or low < -_FLOAT_EXACT_INT)
