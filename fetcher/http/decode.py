"""Decoding response bodies: strict UTF-8 JSON, fast by default, exact for unusual documents.

msgspec parses almost every body, twice as fast as `json`, integers of any size exactly. What it
refuses but JSON producers really send (NaN and Infinity literals, numbers beyond a double's range)
goes to `json`, which keeps them. A UTF-8 byte order mark is skipped. Everything else that is not
JSON (an HTML error page, a truncated document, invalid UTF-8, nesting too deep) is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

_BOM = b"\xef\xbb\xbf"
_decoder = msgspec.json.Decoder()


@dataclass(frozen=True)
class Document:
    """A parsed body. `exact` says `json` parsed it, so it may hold NaN or Infinity."""

    value: Any
    exact: bool


class NotJson(ValueError):
    """The body is not a JSON document; the message says why, in words a person can act on."""


def decode(content: bytes, content_type: str = "") -> Document:
    """Parse `content` as a JSON document, or raise NotJson."""
    if content.startswith(_BOM):
        content = content[len(_BOM) :]
    try:
        return Document(_decoder.decode(content), exact=False)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # decided, and explained, below
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"body is not valid UTF-8 (bad byte at offset {exc.start})") from None
    try:
        return Document(json.loads(text), exact=True)
    except json.JSONDecodeError as exc:
        raise NotJson(_describe(exc, text, content_type)) from None
    except RecursionError:
        raise NotJson("body is JSON nested too deeply to parse") from None


def _describe(exc: json.JSONDecodeError, text: str, content_type: str) -> str:
    if not text.strip():
        return "body is empty, not JSON"
    kind = f" ({content_type})" if content_type else ""
    if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
        return f"body is truncated JSON{kind}: {exc.msg} at line {exc.lineno} column {exc.colno}"
    start = " ".join(text[:60].split())
    return f"body is not JSON{kind}: {exc.msg} at line {exc.lineno} column {exc.colno}; starts {start!r}"
