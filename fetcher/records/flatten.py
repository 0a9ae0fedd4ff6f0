"""Records: finding them in a response, and flattening each page into annotated Arrow columns.

Shapes accepted at the `records` path:
- an array of objects: one record each;
- an object of arrays that all have the same length (columnar data): one record per index;
- any other object: one record. An empty object, `null` or an empty array: no record.

Flattening, the same for every record wherever its page boundaries fall (names.py renders names):
- an object's fields become `parent__child` columns (the rules' separator); a field's other values
  (strings, numbers, …) and its empty objects (as the text `{}`) go to the `parent` column itself;
- below MAX_DEPTH levels of nesting, objects are kept whole, as JSON text;
- arrays are kept as compact JSON text (`["a","b"]`), so Parquet and CSV hold the same columns;
- the rules' `exclude` paths are dropped first; a column declared `json` keeps its values whole,
  as JSON text; numbers parsed as decimal.Decimal stay exact only in a column declared decimal,
  and are floats, as if parsed without decimals, everywhere else.
Each column records the kinds of value it held and its key path; schema.py turns them into the
run's types.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import chain
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from fetcher import dotted
from fetcher.errors import RecordsError
from fetcher.records import kinds as k
from fetcher.records.convert import string_kinds
from fetcher.records.kinds import Kinds
from fetcher.records.names import Namer, Path, collision
from fetcher.records.rules import DEFAULT_RULES, ColumnRules

_NONE = type(None)
MAX_DEPTH = 32  # columns stay readable, and a pathologically deep document cannot exhaust the stack
_FLOAT_EXACT_INT = 2**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_KIND_OF_TYPE = {
    str: k.STRING,
    bool: k.BOOL,
    float: k.FLOAT,
    dict: k.OBJECT,
    list: k.ARRAY,
}
# Decimals (bodies decoded for a decimal column) are written as the number text they came as.
_encoder = msgspec.json.Encoder(decimal_format="number")


def _as_float(value: Any) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_exact_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"), default=_as_float)


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


def to_table(
    records: Sequence[dict[str, Any]], *, exact: bool = False, rules: ColumnRules = DEFAULT_RULES
) -> pa.Table:
    """Flatten `records` into one typed table, one column per leaf, by the rules above.

    `exact` says the page was parsed by `json` (it may hold NaN or Infinity), so that arrays are
    written back with `json`, which keeps those, rather than the faster msgspec. RecordsError if
    two fields land on one column name.
    """
    flattener = _Flattener(rules, _exact_dumps if exact else _fast_dumps)
    try:
        flattener.flatten(records, (), 1)
    except UnicodeEncodeError as exc:
        raise RecordsError(f"a string holds an invalid unicode escape: {exc.reason}") from None
    except RecursionError:
        raise RecordsError("a record is nested too deeply to write") from None
    columns = flattener.columns
    if not columns:
        return pa.table({"_": pa.nulls(len(records))}).drop_columns(["_"])
    fields = [k.annotated(name, column, kinds, path) for name, (path, column, kinds) in columns.items()]
    return pa.Table.from_arrays([column for _, column, _ in columns.values()], schema=pa.schema(fields))


class Deduplicator:
    """Drops records whose primary key was already seen in this run; the first one wins.

    Keys are the records' own JSON values at the `primary_key` paths, compared before anything is
    flattened, so a dropped record never shapes the run's columns. Records without a key are kept.
    """

    def __init__(self, primary_key: Sequence[str]) -> None:
        self.primary_key = tuple(primary_key)
        self.dropped = 0
        self._seen: set[tuple[Any, ...]] = set()

    def __call__(self, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
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
    if value is None or isinstance(value, (str, int, float, Decimal)):
        return value
    return _exact_dumps(value)


class _Flattener:
    """Walks one page's records by key path, and collects its columns by landed name."""

    def __init__(self, rules: ColumnRules, dumps: Callable[[Any], str]) -> None:
        self.columns: dict[str, tuple[Path, pa.Array, Kinds]] = {}
        self._namer = Namer(rules)
        self._excluded = rules.excluded()
        self._declared = rules.declared()
        self._infer = rules.infer_types
        self._dumps = dumps

    def flatten(self, rows: Sequence[dict[str, Any]], prefix: Path, depth: int) -> None:
        for key in dict.fromkeys(chain.from_iterable(rows)):
            path = (*prefix, key)
            if path in self._excluded:
                continue
            name = self._namer.land(path)
            declared = self._declared.get(name)
            values = [row.get(key) for row in rows]
            if declared is not None and declared.name == "json":
                self._add(name, path, self._json_column(values))
                continue
            kinds = set(map(type, values))
            kinds.discard(_NONE)
            if dict in kinds and depth < MAX_DEPTH:
                children = [value if type(value) is dict else _NO_FIELDS for value in values]
                if any(children):
                    self.flatten(children, path, depth + 1)
                # The parent column keeps what is not an object with fields: other values, and {}.
                values = [None if type(value) is dict and value else value for value in values]
                kinds = set(map(type, values))
                kinds.discard(_NONE)
                if not kinds:
                    continue
            if Decimal in kinds:
                values, kinds = _numbers(values, exact=declared is not None and declared.name == "decimal")
            column, labels = _column(values, kinds, self._dumps)
            if labels == {k.STRING} and self._infer and declared is None:
                labels = string_kinds(column)
            self._add(name, path, (column, labels))

    def _add(self, name: str, path: Path, column: tuple[pa.Array, Kinds]) -> None:
        if name in self.columns:
            raise collision(name, self.columns[name][0], path)
        self.columns[name] = (path, *column)

    def _json_column(self, values: list[Any]) -> tuple[pa.Array, Kinds]:
        """A column declared `json`: every value whole, as compact JSON text."""
        text = [None if value is None else self._json_text(value) for value in values]
        return pa.array(text, pa.string()), frozenset({k.STRING if any(text) else k.NULL})

    def _json_text(self, value: Any) -> str:
        if type(value) is Decimal:
            return _fast_dumps(value)  # the number as served
        return self._dumps(value) if type(value) in (dict, list) else _exact_dumps(value)


_NO_FIELDS: dict[str, Any] = {}


def _numbers(values: list[Any], *, exact: bool) -> tuple[list[Any], set[type]]:
    """Decimals as their text, for a decimal column; elsewhere the floats they would have been."""
    convert: Callable[[Decimal], Any] = str if exact else float
    values = [convert(value) if type(value) is Decimal else value for value in values]
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    return values, kinds


def _column(values: list[Any], kinds: set[type], dumps: Callable[[Any], str]) -> tuple[pa.Array, Kinds]:
    """The values of one column of one page, exactly, and the kinds of value they are."""
    if not kinds:
        return pa.nulls(len(values)), frozenset({k.NULL})
    if kinds == {str}:
        return pa.array(values, pa.string()), frozenset({k.STRING})
    if kinds == {bool}:
        return pa.array(values, pa.bool_()), frozenset({k.BOOL})
    if kinds == {float}:
        return pa.array(values, pa.float64()), frozenset({k.FLOAT})
    if kinds == {int}:
        try:
            column = pa.array(values, pa.int64())
        except (OverflowError, pa.ArrowInvalid):
            column = None  # beyond int64: JSON text, below
        if column is not None:
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            wide = low < -_FLOAT_EXACT_INT or high > _FLOAT_EXACT_INT
            return column, frozenset({k.WIDE_INT if wide else k.INT})
    labels = frozenset(_int_kind(values) if kind is int else _KIND_OF_TYPE[kind] for kind in kinds)
    # A mix, huge integers, arrays, objects: JSON text, from which any run type can be read back.
    text = [value if value is None or type(value) is str else _text(value, dumps) for value in values]
    return pa.array(text, pa.string()), labels


def _int_kind(values: list[Any]) -> str:
    ints = [value for value in values if type(value) is int]
    low, high = min(ints), max(ints)
    if low < _INT64_MIN or high > _INT64_MAX:
        return k.HUGE_INT
    if low < -_FLOAT_EXACT_INT or high > _FLOAT_EXACT_INT:
        return k.WIDE_INT
    return k.INT


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
