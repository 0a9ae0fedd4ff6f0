"""The fast page path: a page's records read by pyarrow's JSON reader, or declined for the exact path.

The body is split without building a value per field: msgspec walks the records path key by key
and hands back each record's raw bytes (still validating the JSON), and the other fields of the
body are decoded as usual for the paginators. The records, one per line, go to pyarrow's JSON
reader, which runs compiled and without the GIL; arrowcolumns.py then turns its table into the
exact path's columns (flatten.to_table), or declines. A page is declined, and takes the exact path,
whenever the fast path cannot prove its table identical: see `Declined` reasons in both modules.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa

from fetcher.logs import quote
from fetcher.records import arrowcolumns
from fetcher.records.arrowcolumns import Declined
from fetcher.records.rules import ColumnRules

logger = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
_decoder = msgspec.json.Decoder()
_object_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
# pyarrow cannot tell `{}` from an object of nulls; the exact path can. Strings holding `{}` only
# cost a fallback.
_EMPTY_OBJECT = re.compile(rb"\{\s*\}")


@dataclass(frozen=True)
class Split:
    """A body split at its records path: the other fields decoded, the records as raw JSON.

    `body` is the document with the records node replaced by the list of raw records.
    """

    body: Any
    raws: list[msgspec.Raw]


def split(content: bytes, path: str) -> Split:
    """`content` split at the records `path`; Declined unless the node there is a list of objects."""
    if content.startswith(_BOM):
        raise Declined("the body starts with a byte order mark")
    try:
        body, raws = _split(content, path.split(".") if path else [])
    except (msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise Declined(f"msgspec did not split the body ({exc})") from None
    if not raws:
        raise Declined("no records")
    if not all(memoryview(raw)[0] == 0x7B for raw in raws):  # `{`: each record an object
        raise Declined("a record is not an object")
    return Split(body, raws)


def _split(content: bytes | msgspec.Raw, keys: list[str]) -> tuple[Any, list[msgspec.Raw]]:
    if not keys:
        raws = _list_decoder.decode(content)
        return raws, raws
    node = _object_decoder.decode(content)
    key = keys[0]
    if key not in node:
        raise ValueError(f"no key {key!r}")
    body: dict[str, Any] = {}
    raws: list[msgspec.Raw] = []
    for name, raw in node.items():
        if name == key:
            body[name], raws = _split(raw, keys[1:])
        else:
            body[name] = _decoder.decode(raw)
    return body, raws


class SchemaHint:
    """The schema the last fast page of a source was read with, to read the next in one pass.

    A page read with it is kept only when its table has exactly that schema and the page's first
    record has exactly its keys, in its order, down every object: then pyarrow's order of first
    appearance, and which keys are there, are the ones inference would find. Shared by the threads
    that fetch a source's pages, under a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._schema: pa.Schema | None = None

    def get(self) -> pa.Schema | None:
        with self._lock:
            return self._schema

    def set(self, schema: pa.Schema) -> None:
        with self._lock:
            self._schema = schema


def read_table(raws: list[msgspec.Raw], rules: ColumnRules, hint: SchemaHint | None = None) -> pa.Table:
    """The exact path's table for the records `raws`, or Declined saying why it cannot be proven."""
    import pyarrow.json as pj  # only a run reads pages: kept off --help and validate

    lines = b"\n".join(raws)
    if _EMPTY_OBJECT.search(lines):
        raise Declined("an empty object (pyarrow reads {} as an object of nulls)")
    read = pj.ReadOptions(use_threads=False, block_size=len(lines) + 1)
    # A record written over several lines (pretty-printed JSON) needs the slower multi-line reader.
    newlines = lines.count(b"\n") >= len(raws) or b"\r" in lines
    known = hint.get() if hint is not None else None
    if known is not None and _has_keys(raws[0], known):
        try:
            table = _read(
                pj, lines, read, pj.ParseOptions(explicit_schema=known, newlines_in_values=newlines)
            )
            if table.schema.equals(known) and table.num_rows == len(raws):
                return arrowcolumns.columns(table, lines, rules)
        except Declined:
            pass  # perhaps only the hint's: read the page afresh
    table = _read(pj, lines, read, pj.ParseOptions(newlines_in_values=newlines))
    strings = arrowcolumns.without_timestamps(table.schema)
    if strings is not None:  # pyarrow read ISO strings as timestamps: read them again as text
        table = _read(pj, lines, read, pj.ParseOptions(explicit_schema=strings, newlines_in_values=newlines))
    if table.num_rows != len(raws):
        raise Declined(f"pyarrow read {table.num_rows} rows of {len(raws)} records")
    built = arrowcolumns.columns(table, lines, rules)
    if hint is not None:
        hint.set(table.schema)
    return built


def _has_keys(record: msgspec.Raw, schema: pa.Schema | pa.StructType) -> bool:
    """Whether the object `record` has exactly the fields of `schema`, in order, down every object."""
    try:
        fields = _object_decoder.decode(record)
    except msgspec.DecodeError:
        return False
    if list(fields) != [field.name for field in schema]:
        return False
    return all(
        _has_keys(fields[field.name], field.type) for field in schema if pa.types.is_struct(field.type)
    )


def _read(pj: Any, lines: bytes, read: Any, parse: Any) -> pa.Table:
    try:
        table = pj.read_json(io.BytesIO(lines), read_options=read, parse_options=parse)
        table.validate(full=True)  # pyarrow 26 can build broken lists from `[null, "x"]`
    except (pa.ArrowException, ValueError) as exc:
        raise Declined(f"pyarrow: {str(exc).splitlines()[0]}") from None
    return table


def fast_table(split_body: Split, rules: ColumnRules, source: str, hint: SchemaHint) -> pa.Table | None:
    """The page's table by the fast path, or None (logged at DEBUG with the reason) to take the exact one."""
    try:
        return read_table(split_body.raws, rules, hint)
    except Declined as declined:
        log_declined(source, declined)
    except RecursionError:  # walking pyarrow's types of hundreds of nested objects
        log_declined(source, Declined("objects nested too deeply to walk"))
    except pa.ArrowException as exc:  # a compute function refused the page: the exact path decides
        log_declined(source, Declined(f"pyarrow: {str(exc).splitlines()[0]}"))
    return None


def log_declined(source: str, declined: Declined) -> None:
    """One DEBUG line per page that takes the exact path, with the reason."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("event=exact_page source=%s reason=%s", source, quote(str(declined)))


class LazyRecords(Sequence[dict[str, Any]]):
    """A page's records as Python objects, decoded from `content` only when someone asks for them.

    The count is known from the split, so paginators and counters never decode. Two threads that
    ask at once both decode the same immutable body: harmless, and no lock is needed.
    """

    def __init__(self, count: int, load: Any) -> None:
        self._count = count
        self._load = load
        self._records: list[dict[str, Any]] | None = None

    def _all(self) -> list[dict[str, Any]]:
        if self._records is None:
            self._records = self._load()
        return self._records

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return list(self._all()) == other

    __hash__ = None  # type: ignore[assignment]
