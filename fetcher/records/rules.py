"""Column rules: how a source's records land as columns (names, types, fields left out).

One frozen settings type, `ColumnRules`, that configuration embeds and the records stage reads:

- `flatten_separator` joins a nested object's keys into one column name (`address__city`);
- `column_names` is `"as_is"` (keys as served) or `"snake_case"` (see names.snake_case);
- `infer_types` turns string columns holding only timestamps or only dates into those types;
- `columns` declares a landed column's type, which wins over what the values suggest;
- `exclude` lists dotted paths into the record (`customer.email`, `raw`) never written.

This module imports no pyarrow, so validating a configuration stays light.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from fetcher.errors import ConfigError

AS_IS, SNAKE_CASE = "as_is", "snake_case"
NAMINGS = (AS_IS, SNAKE_CASE)
DEFAULT_SEPARATOR = "__"
# Declared type names, as written in the configuration; `decimal(P,S)` takes its two numbers.
TYPE_NAMES = ("string", "int64", "double", "bool", "timestamp", "date", "decimal(P,S)", "json")
MAX_DECIMAL_PRECISION = 38  # what Arrow's decimal128 and Parquet's DECIMAL hold
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ColumnType(msgspec.Struct, frozen=True):
    """A declared type: `name` is one of TYPE_NAMES (`decimal` for `decimal(P,S)`)."""

    name: str
    precision: int = 0
    scale: int = 0

    def __str__(self) -> str:
        return f"decimal({self.precision},{self.scale})" if self.name == "decimal" else self.name


def parse_type(text: str) -> ColumnType:
    """The declared type written as `text`; ValueError naming the allowed types if there is none."""
    spelt = text.strip().lower()
    found = _DECIMAL.fullmatch(spelt)
    if found:
        precision, scale = int(found[1]), int(found[2])
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise ValueError(f"decimal precision {precision} is not within 1 to {MAX_DECIMAL_PRECISION}")
        if not 0 <= scale <= precision:
            raise ValueError(f"decimal scale {scale} is not within 0 to the precision {precision}")
        return ColumnType("decimal", precision, scale)
    if spelt in TYPE_NAMES and spelt != "decimal(P,S)":
        return ColumnType(spelt)
    raise ValueError(f"unknown type {text!r}; allowed: {', '.join(TYPE_NAMES)}")


def parse_path(entry: str) -> tuple[str, ...]:
    """The keys of a dotted `exclude` entry; ValueError if it is empty or has an empty key."""
    if not entry.strip():
        raise ValueError(f"exclude entry {entry!r} is empty; write a dotted path such as 'customer.email'")
    keys = tuple(entry.split("."))
    if "" in keys:
        raise ValueError(
            f"exclude entry {entry!r} has an empty key (a leading, trailing or doubled dot); "
            "write a dotted path such as 'customer.email'"
        )
    return keys


class ColumnRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How records land as columns; the defaults keep keys as served, joined by `__`."""

    flatten_separator: str = DEFAULT_SEPARATOR
    column_names: Literal["as_is", "snake_case"] = "as_is"
    infer_types: bool = True
    columns: dict[str, str] = msgspec.field(default_factory=dict)
    exclude: tuple[str, ...] = ()

    def check(self, where: str = "") -> None:
        """Raise ConfigError naming the first bad setting (`where` prefixes its key)."""
        prefix = f"{where}." if where else ""
        if not self.flatten_separator or _CONTROL.search(self.flatten_separator):
            raise ConfigError(
                f"{prefix}flatten_separator",
                f"{self.flatten_separator!r} must be non-empty text without control characters, such as '__'",
            )
        if self.column_names not in NAMINGS:
            raise ConfigError(
                f"{prefix}column_names", f"{self.column_names!r} is not one of {', '.join(NAMINGS)}"
            )
        for name, text in self.columns.items():
            if not name:
                raise ConfigError(f"{prefix}columns", "a declared column has an empty name")
            try:
                parse_type(text)
            except ValueError as exc:
                raise ConfigError(f"{prefix}columns.{name}", str(exc)) from None
        for entry in self.exclude:
            try:
                parse_path(entry)
            except ValueError as exc:
                raise ConfigError(f"{prefix}exclude", str(exc)) from None

    def declared(self) -> dict[str, ColumnType]:
        """The declared types by landed column name (the rules must have passed `check`)."""
        return {name: parse_type(text) for name, text in self.columns.items()}

    def excluded(self) -> frozenset[tuple[str, ...]]:
        """The `exclude` entries as key paths."""
        return frozenset(parse_path(entry) for entry in self.exclude)

    @property
    def needs_decimals(self) -> bool:
        """True when a column is declared decimal: bodies must then be decoded with exact decimals."""
        return any(parse_type(text).name == "decimal" for text in self.columns.values())


DEFAULT_RULES = ColumnRules()
