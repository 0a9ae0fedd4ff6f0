"""Decoding response bodies: strict UTF-8 JSON or NDJSON, fast by default, exact for unusual documents.

msgspec parses almost every body, twice as fast as `json`, integers of any size exactly. What it
refuses but JSON producers really send (NaN and Infinity literals, numbers beyond a double's range)
goes to `json`, which keeps them. A UTF-8 byte order mark is skipped. Everything else that is not
JSON (an HTML error page, a truncated document, invalid UTF-8, nesting too deep) is an error.

NDJSON (JSON Lines) is one JSON value per line; its document is the list of the lines' values,
blank lines skipped. It is read when the format says so, or, with the format `auto`, when the
content type is one of NDJSON_TYPES. With `decimals`, numbers with a fraction or an exponent are
decimal.Decimal, exactly as written, for a column declared decimal.
"""

from __future__ import annotations

import decimal
import json
from dataclasses import dataclass
from typing import Any

import msgspec

FORMATS = ("auto", "json", "ndjson")
NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-lines"}
)
_BOM = b"\xef\xbb\xbf"
_decoder = msgspec.json.Decoder()
_decimal_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)


@dataclass(frozen=True)
class Document:
    """A parsed body. `exact` says `json` parsed it, so it may hold NaN or Infinity."""

    value: Any
    exact: bool


class NotJson(ValueError):
    """The body is not a JSON document; the message says why, in words a person can act on."""


def decode(
    content: bytes, content_type: str = "", *, format: str = "auto", decimals: bool = False
) -> Document:
    """Parse `content` as JSON, or NDJSON (`format`, one of FORMATS), or raise NotJson."""
    if content.startswith(_BOM):
        content = content[len(_BOM) :]
    media_type = content_type.split(";", 1)[0].strip().lower()
    if format == "ndjson" or (format == "auto" and media_type in NDJSON_TYPES):
        return _decode_lines(content, decimals)
    try:
        return _decode_one(content, decimals)
    except json.JSONDecodeError as exc:
        problem = _describe(exc, exc.doc, content_type)
    if format == "auto" and _is_lines(content):
        problem += '; it parses as NDJSON (one JSON value per line): set format = "ndjson"'
    raise NotJson(problem)


def _decode_one(content: bytes, decimals: bool) -> Document:
    """One JSON document; json.JSONDecodeError (for _describe) or NotJson if it is not one."""
    try:
        return Document((_decimal_decoder if decimals else _decoder).decode(content), exact=False)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # decided, and explained, below
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"body is not valid UTF-8 (bad byte at offset {exc.start})") from None
    try:
        return Document(json.loads(text, parse_float=decimal.Decimal if decimals else None), exact=True)
    except RecursionError:
        raise NotJson("body is JSON nested too deeply to parse") from None


def _decode_lines(content: bytes, decimals: bool) -> Document:
    values, exact = [], False
    for number, line in enumerate(content.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            document = _decode_one(line, decimals)
        except json.JSONDecodeError as exc:
            raise NotJson(f"body is not NDJSON: line {number}: {exc.msg} at column {exc.colno}") from None
        except NotJson as exc:  # "body is not valid UTF-8 (bad byte at offset 3)": of the line
            raise NotJson(f"body is not NDJSON: line {number} {str(exc).removeprefix('body ')}") from None
        values.append(document.value)
        exact = exact or document.exact
    return Document(values, exact)


def _is_lines(content: bytes) -> bool:
    """True when `content` holds two or more JSON values, one per line."""
    try:
        return len(_decode_lines(content, decimals=False).value) > 1
    except NotJson:
        return False


def _describe(exc: json.JSONDecodeError, text: str, content_type: str) -> str:
    if not text.strip():
        return "body is empty, not JSON"
    kind = f" ({content_type})" if content_type else ""
    if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
        return f"body is truncated JSON{kind}: {exc.msg} at line {exc.lineno} column {exc.colno}"
    start = " ".join(text[:60].split())
    return f"body is not JSON{kind}: {exc.msg} at line {exc.lineno} column {exc.colno}; starts {start!r}"
