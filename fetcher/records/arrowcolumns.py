"""The exact path's columns from pyarrow's reading of a page, or Declined where they could differ.

pyarrow's JSON reader and flatten.to_table agree on most pages; where they can differ, the page is
declined (Declined, with the reason) or the difference undone here:
- ISO date and time strings are read as timestamps: read again as text (`without_timestamps`);
- `1` next to `2.5`, and integers beyond int64, become doubles: a double column holding an integral
  value is proven to hold no integer literal by a scan of the page for its key followed by one (a
  key written with escapes declines, since the scan would not see it);
- structs flatten to `parent__child` columns named by names.Namer, in order of first appearance;
  nesting at flatten.MAX_DEPTH, a column declared `json` and two paths on one name decline;
- arrays become the compact JSON text msgspec writes for lists of strings, integers and bools
  (no null element, no control character); other arrays decline;
- any type the exact path does not produce declines.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.records import kinds as k
from fetcher.records.convert import string_kinds
from fetcher.records.flatten import MAX_DEPTH
from fetcher.records.kinds import Kinds
from fetcher.records.names import Namer, Path
from fetcher.records.rules import ColumnRules

_FLOAT_EXACT_INT = 2**53
# A key written with an escape (`"c\u0064":`): the integer scan below looks for keys as plain text.
_ESCAPED_KEY = re.compile(rb'\\.(?:[^"\\]|\\.)*"\s*:')
_CONTROL = r"[\x00-\x1f]"  # msgspec writes these as escapes; so few lists hold them that they decline


class Declined(Exception):
    """The fast path cannot prove this page's table identical to the exact path's; says why."""


def without_timestamps(schema: pa.Schema) -> pa.Schema | None:
    """`schema` with every timestamp read as a string, or None when it has no timestamp."""
    fields = _as_text_fields(list(schema))
    return None if fields is None else pa.schema(fields)


def _as_text_fields(fields: list[pa.Field]) -> list[pa.Field] | None:
    """`fields` with each timestamp among them (or within them) as a string; None if none is."""
    changed = [_as_text(field.type) for field in fields]
    if all(new is None for new in changed):
        return None
    return [
        field.with_type(new) if new is not None else field for field, new in zip(fields, changed, strict=True)
    ]


def _as_text(kind: pa.DataType) -> pa.DataType | None:
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return pa.string()
    if pa.types.is_struct(kind):
        fields = _as_text_fields([kind.field(index) for index in range(kind.num_fields)])
        return None if fields is None else pa.struct(fields)
    if pa.types.is_list(kind):
        item = _as_text(kind.value_type)
        return None if item is None else pa.list_(item)
    return None


def columns(table: pa.Table, lines: bytes, rules: ColumnRules) -> pa.Table:
    """The exact path's table for the records `lines` that pyarrow read as `table`."""
    builder = _Builder(rules, escapes=b"\\" in lines)
    arrays = [column.combine_chunks() for column in table.columns]
    builder.add_all(list(table.schema), arrays, (), 1)
    if builder.double_keys:
        _check_doubles(builder.double_keys, lines)
    if not builder.columns:
        return pa.table({"_": pa.nulls(table.num_rows)}).drop_columns(["_"])
    fields = [
        k.annotated(name, column, kinds, path) for name, (path, column, kinds) in builder.columns.items()
    ]
    return pa.Table.from_arrays(
        [column for _, column, _ in builder.columns.values()], schema=pa.schema(fields)
    )


def _check_doubles(keys: set[str], lines: bytes) -> None:
    """Declined when a double column's key may hold an integer literal (or a key is escaped)."""
    if _ESCAPED_KEY.search(lines):
        raise Declined("a key is written with escapes next to a double column")
    alternatives = b"|".join(re.escape(key.encode()) for key in sorted(keys))
    if re.search(rb'"(?:' + alternatives + rb')"\s*:\s*-?\d+(?![\d.eE])', lines):
        raise Declined("an integer next to doubles (the exact path keeps both kinds)")


class _Builder:
    """Collects a page's columns by landed name, as flatten._Flattener does."""

    def __init__(self, rules: ColumnRules, *, escapes: bool) -> None:
        self.escapes = escapes
        self.columns: dict[str, tuple[Path, pa.Array, Kinds]] = {}
        self.double_keys: set[str] = set()
        self._namer = Namer(rules)
        self._excluded = rules.excluded()
        self._declared = rules.declared()
        self._infer = rules.infer_types

    def add_all(self, fields: list[pa.Field], arrays: list[pa.Array], prefix: Path, depth: int) -> None:
        for field, array in zip(fields, arrays, strict=True):
            path = (*prefix, field.name)
            if path in self._excluded:
                continue
            name = self._namer.land(path)
            declared = self._declared.get(name)
            if declared is not None and declared.name in ("json", "decimal"):
                raise Declined(f"the column {name!r} is declared {declared}")
            if pa.types.is_struct(field.type):
                if depth >= MAX_DEPTH:
                    raise Declined("objects nested beyond MAX_DEPTH")
                children = array.flatten()  # a null parent makes its children null
                self.add_all(list(field.type), children, path, depth + 1)
                continue  # no {} on the page: the parent column would hold nulls only
            column, kinds = self._column(field, array)
            if kinds == {k.STRING} and self._infer and declared is None:
                kinds = string_kinds(column)
            if name in self.columns:
                raise Declined(f"two paths land on the column {name!r}")
            self.columns[name] = (path, column, kinds)

    def _column(self, field: pa.Field, array: pa.Array) -> tuple[pa.Array, Kinds]:
        kind = field.type
        if array.null_count == len(array):  # read with a schema hint, a column of nulls keeps its type
            return pa.nulls(len(array)), frozenset({k.NULL})
        if pa.types.is_boolean(kind):
            return array, frozenset({k.BOOL})
        if pa.types.is_string(kind):
            return array, frozenset({k.STRING})
        if pa.types.is_int64(kind):
            bounds = pc.min_max(array)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            wide = low < -_FLOAT_EXACT_INT or high > _FLOAT_EXACT_INT
            return array, frozenset({k.WIDE_INT if wide else k.INT})
        if pa.types.is_float64(kind):
            if pc.any(pc.equal(pc.floor(array), array)).as_py():  # else no value was written as an integer
                self.double_keys.add(field.name)
            return array, frozenset({k.FLOAT})
        if pa.types.is_list(kind):
            return _list_text(array, self.escapes), frozenset({k.ARRAY})
        raise Declined(f"pyarrow read a {kind} column")


def _list_text(array: pa.ListArray, escapes: bool) -> pa.Array:
    """Each list as the compact JSON text msgspec writes for it (`["a","b"]`, `[1,2]`, `[]`).

    Without `escapes` (no backslash on the page) no string can hold `"`, `\\` or a control character.
    """
    items = array.values
    kind = items.type
    if items.null_count:
        raise Declined("a list holds null")
    if pa.types.is_null(kind):
        if len(items):
            raise Declined("a list holds null")
        return pc.if_else(array.is_valid(), "[]", pa.scalar(None, pa.string()))
    if pa.types.is_string(kind):
        if escapes:
            if pc.any(pc.match_substring_regex(items, _CONTROL)).as_py():
                raise Declined("a list's string holds a control character")
            items = pc.replace_substring(pc.replace_substring(items, "\\", "\\\\"), '"', '\\"')
            array = pa.ListArray.from_arrays(array.offsets, items, mask=array.is_null())
        text = pc.binary_join_element_wise('["', pc.binary_join(array, '","'), '"]', "")
        return pc.if_else(pc.equal(pc.list_value_length(array), 0), "[]", text)
    if pa.types.is_int64(kind) or pa.types.is_boolean(kind):
        array = pa.ListArray.from_arrays(array.offsets, items.cast(pa.string()), mask=array.is_null())
        return pc.binary_join_element_wise("[", pc.binary_join(array, ","), "]", "")
    raise Declined(f"a list of {kind}")
