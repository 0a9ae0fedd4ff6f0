"""Typed values: finding timestamps and dates among strings, and converting columns exactly.

Detection (`string_kinds`) runs over a page's string column with pyarrow.compute, never row by row:

- `2025-03-01T10:00:00Z`, `…+01:00`, `…+0100`: ts_tz, read as the instant, stored in UTC;
- `2025-03-01T10:00:00`, `2025-03-01 10:00`: ts_naive (`T` or a space; seconds optional);
- `2025-03-01`: date.

A value counts only if it converts exactly: at most 6 fractional digits (microseconds), no leap
second, a real day of the month, a year within 0001-9999 (in UTC). Anything else is a string.

`convert` casts a page's column to the run's type, exactly, or fails naming the column, the value
and the page; a conversion that would change a value's meaning (a bool to a number) is refused.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fetcher.errors import RecordsError
from fetcher.records.kinds import DATE, STRING, TS_NAIVE, TS_TZ, Kinds
from fetcher.records.rules import ColumnType

TIMESTAMP_TZ = pa.timestamp("us", tz="UTC")
TIMESTAMP_NAIVE = pa.timestamp("us")
MAX_VALUE_CHARS = 80
_DAY = r"\d{4}-\d{2}-\d{2}"
_TIME = _DAY + r"[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
_SHAPES = (
    (DATE, f"^{_DAY}$", pa.date32()),
    (TS_TZ, f"^{_TIME}{_OFFSET}", TIMESTAMP_TZ),
    (TS_NAIVE, f"^{_TIME}$", TIMESTAMP_NAIVE),
)
_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_FIRST_US = (datetime(1, 1, 1) - _EPOCH) // _MICROSECOND
_LAST_US = (datetime(9999, 12, 31, 23, 59, 59, 999999) - _EPOCH) // _MICROSECOND
_FIRST_DAY, _LAST_DAY = (datetime(1, 1, 1) - _EPOCH).days, (datetime(9999, 12, 31) - _EPOCH).days
_ARROW_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": TIMESTAMP_TZ,
    "date": pa.date32(),
    "json": pa.string(),
}


def arrow_type(declared: ColumnType) -> pa.DataType:
    """The Arrow type a declared type lands as."""
    if declared.name == "decimal":
        return pa.decimal128(declared.precision, declared.scale)
    return _ARROW_TYPES[declared.name]


def string_kinds(column: pa.Array) -> Kinds:
    """The kinds of the strings in `column`: date, ts_tz, ts_naive where they convert, else string."""
    if not pc.all(pc.match_substring_regex(column, f"^{_DAY}")).as_py():
        return frozenset({STRING})  # the common case, decided in one pass: free text
    kinds = set()
    unmatched = pc.is_valid(column)
    for kind, pattern, target in _SHAPES:
        matched = pc.fill_null(pc.match_substring_regex(column, pattern), False)
        if pc.any(matched).as_py():
            kinds.add(kind if _converts(pc.filter(column, matched), target) else STRING)
            unmatched = pc.and_(unmatched, pc.invert(matched))
    if pc.any(unmatched).as_py():
        kinds.add(STRING)
    return frozenset(kinds)


def convert(column: pa.ChunkedArray | pa.Array, target: pa.DataType, name: str, url: str = "") -> Any:
    """`column` as `target`, value for value; RecordsError naming the first value that does not fit."""
    if column.type == target:
        return column
    if column.type == pa.null():
        return pa.nulls(len(column), target)
    if target == pa.string() and column.type == pa.float64():
        # JSON's text of a float, as a mixed column within one page writes it
        text = [None if value is None else json.dumps(value) for value in column.to_pylist()]
        return pa.array(text, target)
    try:
        converted = _cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _Refused):
        converted = None
    if converted is None or not _in_range(converted):
        raise _failure(column, target, name, url)
    return converted


class _Refused(Exception):
    """A conversion that Arrow would make but that changes what a value means."""


def _cast(column: pa.ChunkedArray | pa.Array, target: pa.DataType) -> Any:
    source = column.type
    if target == pa.string():
        return pc.cast(column, target)  # ints as digits, bools as true/false: their JSON text
    if pa.types.is_boolean(source) or (pa.types.is_temporal(target) and not pa.types.is_string(source)):
        raise _Refused
    if pa.types.is_boolean(target) and not (pa.types.is_string(source) and _all_bool_text(column)):
        raise _Refused
    if target == TIMESTAMP_TZ:
        # A declared timestamp without an offset is read as UTC (an inferred one always has one).
        has_offset = pc.fill_null(pc.match_substring_regex(column, _OFFSET), True)
        column = pc.if_else(has_offset, column, pc.binary_join_element_wise(column, "Z", ""))
    if pa.types.is_decimal(target) and pa.types.is_integer(source):
        # Arrow checks an int64's widest value against the precision; the digits are what count.
        column = pc.cast(column, pa.string())
    return pc.cast(column, target)


def _all_bool_text(column: Any) -> bool:
    """Only `true` and `false`, the JSON text of bools (Arrow would also read `1` and `0`)."""
    bools = pc.or_(pc.is_null(column), pc.is_in(column, pa.array(["true", "false"])))
    return bool(pc.all(bools).as_py())


def _in_range(column: Any) -> bool:
    """Timestamps and dates within years 0001-9999, which every reader (Python's datetime) holds."""
    if pa.types.is_timestamp(column.type):
        low, high, first, last = *_bounds(column, pa.int64()), _FIRST_US, _LAST_US
    elif pa.types.is_date32(column.type):
        low, high, first, last = *_bounds(column, pa.int32()), _FIRST_DAY, _LAST_DAY
    else:
        return True
    return low is None or (first <= low and high <= last)


def _bounds(column: Any, integer: pa.DataType) -> tuple[Any, Any]:
    found = pc.min_max(pc.cast(column, integer))
    return found["min"].as_py(), found["max"].as_py()


def _converts(values: pa.Array, target: pa.DataType) -> bool:
    try:
        return _in_range(pc.cast(values, target))
    except pa.ArrowInvalid:
        return False


def _failure(column: pa.ChunkedArray | pa.Array, target: pa.DataType, name: str, url: str) -> RecordsError:
    """The error for the first value of `column` that does not convert to `target`."""
    bad = None
    for value in column.to_pylist():
        if value is None:
            continue
        try:
            fits = _in_range(_cast(pa.array([value], column.type), target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _Refused):
            fits = False
        if not fits:
            bad = value
            break
    text = bad if isinstance(bad, str) else json.dumps(bad)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    where = f"{url}: " if url else ""
    return RecordsError(f"{where}column {name!r}: value {text!r} does not convert to {target}")
