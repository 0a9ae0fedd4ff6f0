"""Schema unification: one schema for a whole run, decided by every value the run saw.

Each page's columns record the kinds of JSON value they held (in the Arrow field's metadata):
null, bool, int (within ±2**53), wide int (within int64), huge int (beyond int64), float, string,
object, array. A page keeps its values exactly: a column of one kind in its natural Arrow type,
any mix as JSON text. The run's type for a column follows from the union of its kinds over all
pages, so the same records give the same files however they are paged:

- only nulls: null; only bools: bool; only strings: string;
- only ints: int64 (huge ints: string);
- floats, or floats and ints within ±2**53: float64;
- anything else: string, where strings stay as they are and other values are their JSON text.

Columns keep the order in which they first appeared, page after page. A column that held only
nulls is dropped when its key held objects elsewhere in the run: their fields are its columns.
"""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.logs import quote

logger = logging.getLogger(__name__)

NULL, BOOL, INT, WIDE_INT, HUGE_INT = "null", "bool", "int", "wide_int", "huge_int"
FLOAT, STRING, OBJECT, ARRAY = "float", "string", "object", "array"
Kinds = frozenset[str]
_METADATA_KEY = b"kinds"
_NUMBERS = frozenset({INT, FLOAT})


def annotated(name: str, column: pa.Array, kinds: Kinds) -> pa.Field:
    """The field for a page's column, recording the kinds of value it held."""
    return pa.field(name, column.type, metadata={_METADATA_KEY: ",".join(sorted(kinds)).encode()})


def kinds_of(field: pa.Field) -> Kinds:
    label = (field.metadata or {}).get(_METADATA_KEY)
    return frozenset(label.decode().split(",")) - {""} if label is not None else frozenset()


def final_type(kinds: Kinds) -> pa.DataType:
    """The run's Arrow type for a column that held `kinds` of value, by the rules above."""
    seen = kinds - {NULL}
    if not seen:
        return pa.null()
    if seen == {BOOL}:
        return pa.bool_()
    if seen == {STRING}:
        return pa.string()
    if seen <= {INT, WIDE_INT}:
        return pa.int64()
    if FLOAT in seen and seen <= _NUMBERS:
        return pa.float64()
    return pa.string()


class Unifier:
    """Accumulates the kinds of every page of a run and logs each change of type as it happens."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._kinds: dict[str, Kinds] = {}
        self._pages = 0
        self._schema: pa.Schema | None = None

    def observe(self, table: pa.Table) -> None:
        """Fold one page's columns into the run's schema."""
        self._pages += 1
        for field in table.schema:
            kinds = kinds_of(field)
            before = self._kinds.get(field.name)
            after = kinds if before is None else before | kinds
            if after != before:
                self._kinds[field.name] = after
                self._schema = None
            if before is None:
                if self._pages > 1:
                    logger.info(
                        "event=schema_drift source=%s page=%d column=%s change=added type=%s",
                        self.source,
                        self._pages,
                        quote(field.name),
                        final_type(after),
                    )
            elif final_type(after) != final_type(before):
                logger.info(
                    "event=schema_drift source=%s page=%d column=%s change=widened from=%s to=%s",
                    self.source,
                    self._pages,
                    quote(field.name),
                    final_type(before),
                    final_type(after),
                )

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            parents = {name.rsplit(".", 1)[0] for name in self._kinds if "." in name}
            for name in list(parents):
                while "." in name:
                    name = name.rsplit(".", 1)[0]
                    parents.add(name)
            self._schema = pa.schema(
                [
                    (name, final_type(kinds))
                    for name, kinds in self._kinds.items()
                    if not (kinds <= {NULL} and name in parents)
                ]
            )
        return self._schema


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns: missing ones null, the others converted exactly."""
    columns = []
    for item in schema:
        if item.name in table.column_names:
            columns.append(_convert(table.column(item.name), item.type))
        else:
            columns.append(pa.nulls(table.num_rows, item.type))
    return pa.Table.from_arrays(columns, schema=schema)


def describe(schema: pa.Schema) -> str:
    """`id:int64,name:string,…` for the log."""
    return ",".join(f"{item.name}:{item.type}" for item in schema)


def _convert(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if column.type == kind:
        return column
    if column.type == pa.null():
        return pa.nulls(len(column), kind)
    if kind == pa.string() and column.type == pa.float64():
        # JSON's text of a float, as a mixed column within one page writes it
        return pa.array([None if value is None else json.dumps(value) for value in column.to_pylist()], kind)
    # int64 to float64 (exact within ±2**53), to string ("12", "true"); JSON number text to float64
    return pc.cast(column, kind)
