"""Kinds: what JSON values a page's column held, recorded in its Arrow field with the key path.

null, bool, int (within ±2**53), wide int (within int64), huge int (beyond int64), float,
string, object, array; and, for strings when types are inferred, the three that become real
types: a timestamp with an offset (ts_tz), one without (ts_naive), a date (date). A string column
of a page holds one kind per shape of value it saw, so a run can tell "only timestamps" apart.
"""

from __future__ import annotations

import json

import pyarrow as pa

NULL, BOOL, INT, WIDE_INT, HUGE_INT = "null", "bool", "int", "wide_int", "huge_int"
FLOAT, STRING, OBJECT, ARRAY = "float", "string", "object", "array"
TS_TZ, TS_NAIVE, DATE = "ts_tz", "ts_naive", "date"
Kinds = frozenset[str]
_KINDS_KEY, _PATH_KEY = b"kinds", b"path"


def annotated(name: str, column: pa.Array, kinds: Kinds, path: tuple[str, ...]) -> pa.Field:
    """The field for a page's column: the kinds of value it held and the key path it came from."""
    metadata = {
        _KINDS_KEY: ",".join(sorted(kinds)).encode(),
        _PATH_KEY: json.dumps(path, ensure_ascii=False).encode(),
    }
    return pa.field(name, column.type, metadata=metadata)


def kinds_of(field: pa.Field) -> Kinds:
    label = (field.metadata or {}).get(_KINDS_KEY)
    return frozenset(label.decode().split(",")) - {""} if label is not None else frozenset()


def path_of(field: pa.Field) -> tuple[str, ...]:
    """The key path of a page's column (its name, as one key, if it was not annotated)."""
    label = (field.metadata or {}).get(_PATH_KEY)
    return tuple(json.loads(label)) if label is not None else (field.name,)
