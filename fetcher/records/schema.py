"""Schema unification: one schema for a whole run, decided by every value the run saw.

Each page's columns record the kinds of JSON value they held (kinds.py). A page keeps its values
exactly: a column of one kind in its natural Arrow type, any mix as JSON text. The run's type for
a column follows from the union of its kinds over all pages, so the same records give the same
files however they are paged:

- only nulls: null; only bools: bool; only strings: string;
- only ints: int64 (huge ints: string);
- floats, or floats and ints within ±2**53: float64;
- strings that are all timestamps with an offset: timestamp[us, tz=UTC]; all without: timestamp[us];
  all `YYYY-MM-DD` dates: date32 (any mix of these, or with other strings: string, as they came);
- anything else: string, where strings stay as they are and other values are their JSON text.

A type declared in the column rules wins over all of these. Columns keep the order in which they
first appeared, page after page. A column that held only nulls is dropped when its key held
objects elsewhere in the run: their fields are its columns. Two key paths that land on the same
name in different pages are an error, as they are within one page.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from fetcher.logs import quote
from fetcher.records.convert import TIMESTAMP_NAIVE, TIMESTAMP_TZ, arrow_type, convert
from fetcher.records.kinds import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    NULL,
    STRING,
    TS_NAIVE,
    TS_TZ,
    WIDE_INT,
    Kinds,
    kinds_of,
    path_of,
)
from fetcher.records.names import Namer, Path, collision
from fetcher.records.rules import DEFAULT_RULES, ColumnRules

logger = logging.getLogger(__name__)

_NUMBERS = frozenset({INT, FLOAT})
_STRING_TYPES = {
    frozenset({STRING}): pa.string(),
    frozenset({TS_TZ}): TIMESTAMP_TZ,
    frozenset({TS_NAIVE}): TIMESTAMP_NAIVE,
    frozenset({DATE}): pa.date32(),
}


def final_type(kinds: Kinds) -> pa.DataType:
    """The run's Arrow type for a column that held `kinds` of value, by the rules above."""
    seen = kinds - {NULL}
    if not seen:
        return pa.null()
    if seen == {BOOL}:
        return pa.bool_()
    if seen in _STRING_TYPES:
        return _STRING_TYPES[seen]
    if seen <= {INT, WIDE_INT}:
        return pa.int64()
    if FLOAT in seen and seen <= _NUMBERS:
        return pa.float64()
    return pa.string()


class Unifier:
    """Accumulates the kinds of every page of a run and logs each change of type as it happens."""

    def __init__(self, source: str, rules: ColumnRules = DEFAULT_RULES) -> None:
        self.source = source
        self._declared = {name: arrow_type(declared) for name, declared in rules.declared().items()}
        self._namer = Namer(rules)
        self._kinds: dict[str, Kinds] = {}
        self._paths: dict[str, Path] = {}
        self._pages = 0
        self._schema: pa.Schema | None = None

    def observe(self, table: pa.Table, url: str = "") -> None:
        """Fold one page's columns into the run's schema.

        RecordsError if two fields land on one name, or if a value of a declared column does not
        convert to its type (naming `url`, the page's, redacted): a page is refused as it comes.
        """
        self._pages += 1
        for name, declared in self._declared.items():
            if name in table.column_names:
                convert(table.column(name), declared, name, url)
        for field in table.schema:
            path = path_of(field)
            known = self._paths.setdefault(field.name, path)
            if known != path:
                raise collision(field.name, known, path)
            kinds = kinds_of(field)
            before = self._kinds.get(field.name)
            after = kinds if before is None else before | kinds
            if after != before:
                self._kinds[field.name] = after
                self._schema = None
            if before is None:
                self._log_added(field.name, path, after)
            elif self._type(field.name, after) != self._type(field.name, before):
                logger.info(
                    "event=schema_drift source=%s page=%d column=%s change=widened from=%s to=%s",
                    self.source,
                    self._pages,
                    quote(field.name),
                    self._type(field.name, before),
                    self._type(field.name, after),
                )

    def _log_added(self, name: str, path: Path, kinds: Kinds) -> None:
        if self._namer.land(path) in self._namer.renamed:
            logger.info(
                "event=column_renamed source=%s column=%s to=%s reason=reserved",
                self.source,
                quote(self._namer.renamed[name]),
                quote(name),
            )
        if self._pages > 1:
            logger.info(
                "event=schema_drift source=%s page=%d column=%s change=added type=%s",
                self.source,
                self._pages,
                quote(name),
                self._type(name, kinds),
            )

    def _type(self, name: str, kinds: Kinds) -> pa.DataType:
        declared = self._declared.get(name)
        return declared if declared is not None else final_type(kinds)

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            parents = {path[:end] for path in self._paths.values() for end in range(1, len(path))}
            self._schema = pa.schema(
                [
                    (name, self._type(name, kinds))
                    for name, kinds in self._kinds.items()
                    if not (kinds <= {NULL} and self._paths[name] in parents)
                ]
            )
        return self._schema


def conform(table: pa.Table, schema: pa.Schema, url: str = "") -> pa.Table:
    """`table` with exactly `schema`'s columns: missing ones null, the others converted exactly.

    RecordsError naming the column, the value and `url` (the page's, redacted) if a value does
    not convert to its column's type.
    """
    columns = []
    for item in schema:
        if item.name in table.column_names:
            columns.append(convert(table.column(item.name), item.type, item.name, url))
        else:
            columns.append(pa.nulls(table.num_rows, item.type))
    return pa.Table.from_arrays(columns, schema=schema)


def describe(schema: pa.Schema) -> str:
    """`id:int64,name:string,…` for the log."""
    return ",".join(f"{item.name}:{item.type}" for item in schema)
