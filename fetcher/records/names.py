"""Landed names: a field's key path rendered as the one column name a SQL user types.

Records are flattened by key path (a tuple of keys), never by joined text, so a key that holds the
separator is still told apart from a nested object. `Namer.land` renders a path in one place:

1. each key is kept as served (`as_is`) or normalised by `snake_case`;
2. the keys are joined by the separator (`address__city`);
3. a name the run's own columns use (RESERVED) gets a trailing underscore (`fetch_date_`).

Two paths that land on the same name are an error (RecordsError), never merged: see `collision`.
"""

from __future__ import annotations

import functools
import json
import re

from fetcher.errors import RecordsError
from fetcher.records.rules import SNAKE_CASE, ColumnRules

FETCHED_AT, RUN_ID, FETCH_DATE = "_fetched_at", "_run_id", "fetch_date"
RESERVED = frozenset({FETCHED_AT, RUN_ID, FETCH_DATE})  # the run's columns and partition key
Path = tuple[str, ...]

_ACRONYM_END = re.compile(r"([A-Z]+)([A-Z][a-z])")  # HTTPCode -> HTTP_Code
_WORD_START = re.compile(r"([a-z0-9])([A-Z])")  # createdAt -> created_At, v2Name -> v2_Name
_NOT_WORD = re.compile(r"[\W_]+")  # spaces, dashes, dots, any symbol, and runs of underscores


@functools.lru_cache(maxsize=4096)
def snake_case(key: str) -> str:
    """`key` in snake_case, the rule documented in the README:

    - a lower-case letter or digit followed by an upper-case one starts a word (`createdAt` ->
      `created_at`, `v2Name` -> `v2_name`); an acronym ends before its last capital when a
      lower-case letter follows (`HTTPCode` -> `http_code`, `userID` -> `user_id`);
    - every run of characters that are not letters or digits (spaces, dashes, dots, symbols,
      underscores) becomes one `_`; letters of any script are kept, in lower case (`Straße` ->
      `straße`); one leading underscore is kept (`_id`), trailing ones are dropped (`name_` -> `name`);
    - a key that starts with a digit gets a leading `_` (`2fa` -> `_2fa`); a key with no letter
      or digit becomes `_`.
    """
    text = _WORD_START.sub(r"\1_\2", _ACRONYM_END.sub(r"\1_\2", key))
    text = _NOT_WORD.sub("_", text).lower()
    leading = text.startswith("_")
    text = text.strip("_")
    if not text:
        return "_"
    return "_" + text if leading or text[0].isdigit() else text


def describe(path: Path) -> str:
    """A key path as a person reads it: `customer.email`; a key holding a dot is quoted."""
    return ".".join(json.dumps(key, ensure_ascii=False) if "." in key or not key else key for key in path)


class Namer:
    """Renders key paths as landed names under `rules`, remembering the ones it renamed."""

    def __init__(self, rules: ColumnRules) -> None:
        self._separator = rules.flatten_separator
        self._key = snake_case if rules.column_names == SNAKE_CASE else str
        self.renamed: dict[str, str] = {}  # landed name -> the reserved name it would have had

    def land(self, path: Path) -> str:
        name = self._separator.join(map(self._key, path))
        if name in RESERVED:
            self.renamed[name + "_"] = name
            return name + "_"
        return name


def collision(name: str, first: Path, second: Path) -> RecordsError:
    """The error for two fields that land on one column, naming both and the ways out."""
    return RecordsError(
        f"two fields both land on the column {name!r}: {describe(first)} and {describe(second)}; "
        "leave one out with `exclude`, or choose another `separator` or `column_names`"
    )
