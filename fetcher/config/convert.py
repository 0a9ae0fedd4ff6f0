"""TOML tables into the typed model with msgspec, and its errors into one-line ConfigErrors.

msgspec checks every key and type against the structs' annotations. This module only says what
went wrong as the rest of the configuration does: the key (`sources[0].timeout_s`), the value as
written, and what is allowed. A struct lists in `resolved_fields` the fields the program fills in
later (an auth kind's secret): they are never offered as keys.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec

from fetcher.errors import ConfigError

T = TypeVar("T")

_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_FIELD = re.compile(r"field `([^`]+)`")
_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def convert(table: Any, cls: type[T], where: str = "") -> T:
    """`table` as a `cls`; else a ConfigError naming the key under `where`, the value and what is allowed."""
    try:
        return msgspec.convert(table, cls, strict=True)
    except msgspec.ValidationError as exc:
        message, at, path = str(exc).rpartition(" - at `$")
        if not at:  # the error is in `table` itself, not in a value under it
            message, path = path, "`"
        raise _error(message, path[:-1], cls, table, where) from None


def show(value: Any) -> str:
    """`value` as JSON, cut to 80 characters: how every error shows a value."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _error(message: str, path: str, hint: Any, value: Any, where: str) -> ConfigError:
    steps = _STEP.findall(path)
    if message.startswith("Invalid value"):  # only a kind's tag (`type`) has a fixed set of values
        hint, value, where = _locate(hint, value, where, steps[:-1])
        tag_field = _tag_field(hint)
        return ConfigError(_join(where, tag_field), f"{show(value[tag_field])} is not one of: {_tags(hint)}")
    hint, value, where = _locate(hint, value, where, steps)
    field = _FIELD.search(message)
    if field is None:  # "Expected `float`, got `str`"
        return ConfigError(where, f"{show(value)} is not {_describe(hint)}")
    key = _join(where, field[1])
    if field[1] == _tag_field(hint):
        return ConfigError(key, f"is required; one of: {_tags(hint)}")
    cls = _choose(hint, value)
    config = cls.__struct_config__
    label = f"{config.tag_field} = {show(config.tag)}" if config.tag is not None else ""
    if message.startswith("Object missing"):
        return ConfigError(key, "is required" + (f" for {label}" if label else ""))
    hidden = getattr(cls, "resolved_fields", ())
    allowed = ([config.tag_field] if label else []) + [
        info.encode_name for info in msgspec.structs.fields(cls) if info.name not in hidden
    ]
    tables = [f"[{name}]" for name in _tables(cls)]
    listed = ", ".join(allowed) + (f"; tables: {', '.join(tables)}" if tables else "")
    unknown = f"unknown key{' with ' + label if label else ''}"
    return ConfigError(key, f"{unknown}; allowed: {listed}{_suggest(field[1], allowed, tables)}")


def _tables(cls: Any) -> list[str]:
    """The tables one level below `cls`'s own (`sources.pagination` under the file's `sources`).

    A table written at the wrong level (`[pagination]` for `[sources.pagination]`) or under a
    misspelt parent (`[source.auth]`) is an unknown key here: these are what it may have meant.
    """
    names = []
    for info in msgspec.structs.fields(cls):
        inner = _struct_of(info.type)
        if inner is not None:
            names += [
                f"{info.encode_name}.{sub.encode_name}"
                for sub in msgspec.structs.fields(inner)
                if _struct_of(sub.type) is not None
            ]
    return names


def _struct_of(hint: Any) -> Any:
    """The struct a field holds (one, optional, a list of them, or the first of a union of kinds)."""
    if get_origin(hint) is tuple:
        hint = get_args(hint)[0]
    options = [arg for arg in _union(hint) if arg is not type(None)]
    return options[0] if options and all(_is_struct(arg) for arg in options) else None


def _suggest(key: str, allowed: list[str], tables: list[str]) -> str:
    """The closing `; did you mean X?`: the allowed key or table closest to `key`, if any is close."""
    by_name = {name: name for name in allowed}
    by_name.update({table.strip("[]"): table for table in tables})
    by_name.update({table.strip("[]").rsplit(".", 1)[-1]: table for table in tables})  # `[pagination]`
    close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.6)
    return f"; did you mean {by_name[close[0]]}?" if close else ""


def _locate(hint: Any, value: Any, where: str, steps: list[tuple[str, str]]) -> tuple[Any, Any, str]:
    """Follow msgspec's path (`.name`, `[0]`, `[...]` for a mapping's value) through types and values.

    A list of plain values is reported whole (`formats`: "is not a list of strings").
    """
    for name, index in steps:
        hint = _choose(hint, value)
        if name:
            types_ = {info.encode_name: info.type for info in msgspec.structs.fields(hint)}
            hint, value, where = types_[name], value.get(name), _join(where, name)
        elif index == "...":
            hint = get_args(hint)[1]
            key, value = next((key, item) for key, item in value.items() if not _fits(item, hint))
            where = _join(where, key)
        else:
            if not _is_struct(_choose(get_args(hint)[0], None)):
                break
            hint, value, where = get_args(hint)[0], value[int(index)], f"{where}[{index}]"
    return hint, value, where


def _choose(hint: Any, value: Any) -> Any:
    """The one type of a union `value` is meant as: the kind its `type` names, or the non-None one."""
    options = [arg for arg in _union(hint) if arg is not type(None)]
    if len(options) == 1:
        return options[0]
    tag_field = _tag_field(hint)
    if tag_field is not None and isinstance(value, dict):
        for option in options:
            if option.__struct_config__.tag == value.get(tag_field):
                return option
    return hint


def _describe(hint: Any) -> str:
    if get_origin(hint) in (Union, types.UnionType):
        names = [_describe(arg) for arg in get_args(hint) if arg is not type(None)]
        return " or ".join(dict.fromkeys(names))  # a union of kinds is one "a table"
    if get_origin(hint) is tuple:
        return "a list of strings" if get_args(hint)[0] is str else "a list of tables"
    if get_origin(hint) is dict or _is_struct(hint):
        return "a table"
    if get_origin(hint) is Literal:
        return "one of: " + ", ".join(map(str, get_args(hint)))
    return _NAMES.get(hint, str(hint))


def _union(hint: Any) -> tuple[Any, ...]:
    return get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)


def _tag_field(hint: Any) -> str | None:
    """The field naming the kind (`type`) when `hint` is a union of kinds, else None."""
    kinds = [arg for arg in _union(hint) if _is_struct(arg) and arg.__struct_config__.tag is not None]
    return kinds[0].__struct_config__.tag_field if len(kinds) > 1 else None


def _tags(hint: Any) -> str:
    return ", ".join(arg.__struct_config__.tag for arg in _union(hint) if _is_struct(arg))


def _is_struct(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _fits(value: Any, hint: Any) -> bool:
    try:
        msgspec.convert(value, hint, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
