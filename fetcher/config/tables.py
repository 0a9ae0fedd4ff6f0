"""TOML tables into typed, frozen dataclasses: keys and types checked against the annotations.

One generic builder for every table of the configuration: an unknown key fails naming the allowed
ones, a missing required key fails naming it, and a value of the wrong type fails naming the
value and the type expected. Semantic checks (ranges, patterns, choices) stay in config.py.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin, get_type_hints

from fetcher.errors import ConfigError


def build(cls: type, table: Any, where: str, *, skip: tuple[str, ...] = (), label: str = "") -> Any:
    """Build dataclass `cls` from `table`, checking keys and types against its annotations."""
    if not isinstance(table, dict):
        raise ConfigError(where, f"{show(table)} is not a table")
    hints = get_type_hints(cls)
    fields = {
        item.name: item
        for item in dataclasses.fields(cls)
        if item.init and not item.metadata.get("resolved") and item.name not in skip
    }
    reject_unknown(table, tuple(fields), where, label)
    values: dict[str, Any] = {}
    for name, item in fields.items():
        key = f"{where}.{name}"
        if name in table:
            values[name] = coerce(table[name], hints[name], key)
        elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            raise ConfigError(key, f"is required{' for ' + label if label else ''}")
    return cls(**values)


def coerce(value: Any, hint: Any, key: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        for option in (arg for arg in args if arg is not type(None)):
            try:
                return coerce(value, option, key)
            except ConfigError:
                continue
        raise ConfigError(key, f"{show(value)} is not {_describe(hint)}")
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key)
    if hint is Any:
        return value
    if origin is tuple:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
    elif origin in (Mapping, dict):
        if isinstance(value, dict):
            if args[1] is str:
                return {name: _scalar_text(item, f"{key}.{name}") for name, item in value.items()}
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, hint):
        return value
    raise ConfigError(key, f"{show(value)} is not {_describe(hint)}")


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args if arg is not type(None))
    if origin is tuple:
        return "a list of strings"
    if origin in (Mapping, dict) or dataclasses.is_dataclass(hint):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(hint, str(hint))


def _scalar_text(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(key, f"{show(value)} is not a string, number or boolean")


def kind(table: Any, where: str, kinds: Mapping[str, type], default: str | None = None) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(where, f"{show(table)} is not a table")
    kind = table.get("type", default)
    if kind is None:
        raise ConfigError(f"{where}.type", f"is required; one of: {', '.join(kinds)}")
    if kind not in kinds:
        raise ConfigError(f"{where}.type", f"{show(kind)} is not one of: {', '.join(kinds)}")
    return kinds[kind], {key: value for key, value in table.items() if key != "type"}


def reject_unknown(table: Mapping[str, Any], allowed: tuple[str, ...], where: str, label: str = "") -> None:
    for key in table:
        if key not in allowed:
            context = f" with {label}" if label else ""
            name = f"{where}.{key}" if where else key
            extra = ["type"] if label else []
            raise ConfigError(name, f"unknown key{context}; allowed: {', '.join(extra + list(allowed))}")


def show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
