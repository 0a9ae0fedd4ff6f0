"""Records: finding them in a response, and flattening each page into annotated Arrow columns.

Shapes accepted at the `records` path:
- an array of objects: one record each;
- an object of arrays that all have the same length (columnar data): one record per index;
- any other object: one record. An empty object, `null` or an empty array: no record.

Flattening, the same for every record wherever its page boundaries fall:
- an object's fields become `parent.child` columns; a field's other values (strings, numbers, …)
  and its empty objects (as the text `{}`) go to the `parent` column itself;
- below MAX_DEPTH levels of nesting, objects are kept whole, as JSON text;
- arrays are kept as compact JSON text (`["a","b"]`), so Parquet and CSV hold the same columns.
Each column records the kinds of value it held; schema.py turns them into the run's types.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from fetcher import dotted
from fetcher.errors import RecordsError
from fetcher.records import schema
from fetcher.records.schema import Kinds

_NONE = type(None)
MAX_DEPTH = 32  # columns stay readable, and a pathologically deep document cannot exhaust the stack
_FLOAT_EXACT_INT = 2**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_KIND_OF_TYPE = {
    str: schema.STRING,
    bool: schema.BOOL,
    float: schema.FLOAT,
    dict: schema.OBJECT,
    list: schema.ARRAY,
}
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
    columns: dict[str, tuple[pa.Array, Kinds]] = {}
    try:
        _flatten(records, "", columns, _exact_dumps if exact else _fast_dumps)
    except UnicodeEncodeError as exc:
        raise RecordsError(f"a string holds an invalid unicode escape: {exc.reason}") from None
    except RecursionError:
        raise RecordsError("a record is nested too deeply to write") from None
    if not columns:
        return pa.table({"_": pa.nulls(len(records))}).drop_columns(["_"])
    fields = [schema.annotated(name, column, kinds) for name, (column, kinds) in columns.items()]
    return pa.Table.from_arrays([column for column, _ in columns.values()], schema=pa.schema(fields))


class Deduplicator:
    """Drops records whose primary key was already seen in this run; the first one wins.

    Keys are the records' own JSON values at the `primary_key` paths, compared before anything is
    flattened, so a dropped record never shapes the run's columns. Records without a key are kept.
    """

    def __init__(self, primary_key: Sequence[str]) -> None:
        self.primary_key = tuple(primary_key)
        self.dropped = 0
        self._seen: set[tuple[Any, ...]] = set()

    def __call__(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.primary_key:
            return rows
        kept = []
        for row in rows:
            key = tuple(_key_part(dotted.get(row, path)) for path in self.primary_key)
            if any(part is not None for part in key):
                if key in self._seen:
                    self.dropped += 1
                    continue
                self._seen.add(key)
            kept.append(row)
        return kept


def _key_part(value: Any) -> Any:
    """A hashable stand-in for a key's value: 1 and 1.0 match, `true` and 1 do not."""
    if isinstance(value, bool):
        return ("bool", value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return _exact_dumps(value)


def _flatten(
    rows: Sequence[dict[str, Any]],
    prefix: str,
    out: dict[str, tuple[pa.Array, Kinds]],
    dumps: Callable[[Any], str],
    depth: int = 1,
) -> None:
    for key in dict.fromkeys(chain.from_iterable(rows)):
        name = prefix + key
        values = [row.get(key) for row in rows]
        kinds = set(map(type, values))
        kinds.discard(_NONE)
        if dict in kinds and depth < MAX_DEPTH:
            children = [value if type(value) is dict else _NO_FIELDS for value in values]
            if any(children):
                _flatten(children, name + ".", out, dumps, depth + 1)
            # The parent column keeps what is not an object with fields: other values, and {}.
            values = [None if type(value) is dict and value else value for value in values]
            kinds = set(map(type, values))
            kinds.discard(_NONE)
            if not kinds:
                continue
        if name in out:
            raise RecordsError(
                f"two fields both flatten to the column {name!r} (a key containing a dot "
                "next to a nested object); rename one upstream"
            )
        out[name] = _column(values, kinds, dumps)


_NO_FIELDS: dict[str, Any] = {}


def _column(values: list[Any], kinds: set[type], dumps: Callable[[Any], str]) -> tuple[pa.Array, Kinds]:
    """The values of one column of one page, exactly, and the kinds of value they are."""
    if not kinds:
        return pa.nulls(len(values)), frozenset({schema.NULL})
    if kinds == {str}:
        return pa.array(values, pa.string()), frozenset({schema.STRING})
    if kinds == {bool}:
        return pa.array(values, pa.bool_()), frozenset({schema.BOOL})
    if kinds == {float}:
        return pa.array(values, pa.float64()), frozenset({schema.FLOAT})
    if kinds == {int}:
        try:
            column = pa.array(values, pa.int64())
        except (OverflowError, pa.ArrowInvalid):
            column = None  # beyond int64: JSON text, below
        if column is not None:
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            wide = low < -_FLOAT_EXACT_INT or high > _FLOAT_EXACT_INT
            return column, frozenset({schema.WIDE_INT if wide else schema.INT})
    labels = frozenset(_int_kind(values) if kind is int else _KIND_OF_TYPE[kind] for kind in kinds)
    # A mix, huge integers, arrays, objects: JSON text, from which any run type can be read back.
    text = [value if value is None or type(value) is str else _text(value, dumps) for value in values]
    return pa.array(text, pa.string()), labels


def _int_kind(values: list[Any]) -> str:
    ints = [value for value in values if type(value) is int]
    low, high = min(ints), max(ints)
    if low < _INT64_MIN or high > _INT64_MAX:
        return schema.HUGE_INT
    if low < -_FLOAT_EXACT_INT or high > _FLOAT_EXACT_INT:
        return schema.WIDE_INT
    return schema.INT


def _text(value: Any, dumps: Callable[[Any], str]) -> str:
    """JSON text: scalars as `json` writes them (as a float column cast to text is), the rest fast."""
    if type(value) in (dict, list):
        return dumps(value)
    return _exact_dumps(value)


def _fast_dumps(value: Any) -> str:
    return _encoder.encode(value).decode()


def _is_columnar(node: dict[str, Any]) -> bool:
    lengths = {len(value) if isinstance(value, list) else -1 for value in node.values()}
    return len(lengths) == 1 and -1 not in lengths and bool(node)


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", _NONE: "null"}
    return kinds.get(type(value), "a number")
