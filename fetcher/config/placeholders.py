"""Placeholders in a source's requests: `{name}` in the URL, parameter and header values and the body.

`fill` replaces the placeholders whose names it is given and leaves any other braces alone, so
that a body may hold literal braces (a GraphQL query). The run names the values: the incremental
cursor and the time window (`{cursor}`, `{window_start}`, `{window_end}`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

PATTERN = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def fill(template: Any, values: Mapping[str, str], encode: Callable[[str], str] | None = None) -> Any:
    """`template` with each `{name}` of `values` replaced, in every string of nested tables and lists.

    `encode` (a URL's percent-encoding) is applied to each value put in. Other values pass as they are.
    """
    if isinstance(template, str):
        return PATTERN.sub(lambda match: _value(match, values, encode), template)
    if isinstance(template, Mapping):
        return {key: fill(value, values, encode) for key, value in template.items()}
    if isinstance(template, list | tuple):
        return [fill(item, values, encode) for item in template]
    return template


def names(template: Any) -> set[str]:
    """Every `{name}` in `template`'s strings, nested tables and lists included."""
    if isinstance(template, str):
        return set(PATTERN.findall(template))
    if isinstance(template, Mapping):
        return set().union(*(names(value) for value in template.values()))
    if isinstance(template, list | tuple):
        return set().union(*(names(item) for item in template))
    return set()


def _value(match: re.Match[str], values: Mapping[str, str], encode: Callable[[str], str] | None) -> str:
    value = values.get(match.group(1))
    if value is None:
        return match.group(0)
    return encode(value) if encode else value
