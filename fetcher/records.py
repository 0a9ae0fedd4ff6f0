"""Records: finding them in a response, and flattening each page into typed Arrow columns.

Shapes accepted at the `records` path:
- an array of objects: one record each;
- an object of arrays that all have the same length (columnar data): one record per index;
- any other object: one record. An empty object, `null` or an empty array: no record.

Flattening, per page (schema.py then unifies the pages of a run):
- nested objects become `parent.child` columns; an object that is empty wherever it appears is
  kept as the text `{}`; below MAX_DEPTH levels of nesting, objects are kept as JSON text;
- arrays are kept as compact JSON text (`["a","b"]`), so Parquet and CSV hold the same columns;
- a column's type is the narrowest that holds every value exactly: null, bool, int64, float64 or
  string. Integers and floats together make float64, unless an integer would lose precision
  (beyond 2**53); integers beyond int64 make string. Any other mix makes string, where strings
  stay as they are and other values become their JSON text (`true`, `12`, `{"a":1}`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import msgspec
import pyarrow as pa

from fetcher import dotted
from fetcher.errors import RecordsError

_NONE = type(None)
MAX_DEPTH = 32  # columns stay readable, and a pathologically deep document cannot exhaust the stack
_encoder = msgspec.json.Encoder()
_exact_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def extract(document: Any, path: str, url: str) -> list[dict[str, Any]]:
    """The records at `path` in a parsed body, as a list of objects."""
    try:
        node = dotted.lookup(document, path)
    except dotted.Missing as missing:
        found = f" (the body has {missing.at!r})" if missing.at else ""
        raise RecordsError(f"{url}: records path {path!r} not found in the body{found}") from None
    if node is None:
        return []
    if isinstance(node, list):
        for index, item in enumerate(node):
            if type(item) is not dict:
                raise RecordsError(
                    f"{url}: records at {path or 'the top level'!r} must be objects; "
                    f"item {index} is {_json_kind(item)}"
                )
        return node
    if isinstance(node, dict):
        if _is_columnar(node):
            return [dict(zip(node, row, strict=True)) for row in zip(*node.values(), strict=True)]
        return [node] if node else []
    raise RecordsError(
        f"{url}: records at {path or 'the top level'!r} are {_json_kind(node)}; expected an array "
        "of objects, an object, or an object of equal-length arrays"
    )


def to_table(records: Sequence[dict[str, Any]], *, exact: bool = False) -> pa.Table:
    """Flatten `records` into one typed table, one column per leaf, by the rules above.

    `exact` says the page was parsed by `json` (it may hold NaN or Infinity), so that arrays are
    written back with `json`, which keeps those, rather than the faster msgspec.
    """
    columns: dict[str, pa.Array] = {}
    try:
        _flatten(records, "", columns, _exact_dumps if exact else _fast_dumps)
    except UnicodeEncodeError as exc:
        raise RecordsError(f"a string holds an invalid unicode escape: {exc.reason}") from None
    except RecursionError:
        raise RecordsError("a record is nested too deeply to write") from None
    if not columns:
        return pa.table({"_": pa.nulls(len(records))}).drop_columns(["_"])
    return pa.table(columns)


class Deduplicator:
    """Drops records whose primary key was already seen in this run; the first one wins."""

    def __init__(self, primary_key: Sequence[str]) -> None:
        self.primary_key = tuple(primary_key)
        self.dropped = 0
        self._seen: set[Any] = set()

    def __call__(self, table: pa.Table) -> pa.Table:
        if not self.primary_key:
            return table
        missing = [name for name in self.primary_key if name not in table.column_names]
        if missing and len(missing) == len(self.primary_key):
            return table
        columns = [
            table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows
            for name in self.primary_key
        ]
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        keep = []
        for key in keys:
            fresh = key is None or key not in self._seen
            if fresh and key is not None:
                self._seen.add(key)
            keep.append(fresh)
        kept = table.filter(pa.array(keep, pa.bool_()))
        self.dropped += table.num_rows - kept.num_rows
        return kept


def _flatten(
    rows: Sequence[dict[str, Any]],
    prefix: str,
    out: dict[str, pa.Array],
    dumps: Callable[[Any], str],
    depth: int = 1,
) -> None:
    for key in dict.fromkeys(chain.from_iterable(rows)):
        name = prefix + key
        values = [row.get(key) for row in rows]
        kinds = set(map(type, values))
        kinds.discard(_NONE)
        if kinds == {dict} and depth < MAX_DEPTH:
            children = [value or {} for value in values]
            if any(children):
                _flatten(children, name + ".", out, dumps, depth + 1)
                continue
        if name in out:
            raise RecordsError(
                f"two fields both flatten to the column {name!r} (a key containing a dot "
                "next to a nested object); rename one upstream"
            )
        out[name] = _column(values, kinds, dumps)


def _column(values: list[Any], kinds: set[type], dumps: Callable[[Any], str]) -> pa.Array:
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {str}:
        return pa.array(values, pa.string())
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {int}:
        try:
            column = pa.array(values)
        except (OverflowError, pa.ArrowInvalid):
            return _text(values, dumps)
        return column if column.type == pa.int64() else _text(values, dumps)
    if kinds <= {int, float}:
        try:
            return pa.array(values, pa.float64())
        except (OverflowError, pa.ArrowInvalid):
            return _text(values, dumps)
    return _text(values, dumps)


def _text(values: list[Any], dumps: Callable[[Any], str]) -> pa.Array:
    return pa.array(
        [value if value is None or type(value) is str else dumps(value) for value in values],
        pa.string(),
    )


def _fast_dumps(value: Any) -> str:
    return _encoder.encode(value).decode()


def _is_columnar(node: dict[str, Any]) -> bool:
    lengths = {len(value) if isinstance(value, list) else -1 for value in node.values()}
    return len(lengths) == 1 and -1 not in lengths and bool(node)


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", _NONE: "null"}
    return kinds.get(type(value), "a number")
