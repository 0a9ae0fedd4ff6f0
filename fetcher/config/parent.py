"""Parent/child sources: `[sources.parent]`, its checks, and a child's request filled in for a row.

A child source takes request values from its parent's records: `fields = { user_id = "id" }`
fills `{user_id}` in the child's URL path and query, `params`, `headers` and `body` with the
parent row's `id` column (its landed name). Values in the URL are percent-encoded; a body string
that is exactly one placeholder takes the value with its own JSON type (a number stays a number).
The scheme and host are never filled: credentials go to the configured origin only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

from fetcher.config.convert import show
from fetcher.errors import ConfigError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
PARENT_PREFIX = "_parent__"  # `include = ["id"]` lands as the column `_parent__id`
DEFAULT_CONCURRENCY = 4


class Parent(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[sources.parent]`: one child request walk per row of the `source` source's newest run."""

    source: str
    fields: dict[str, str]
    include: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY

    def check(self, where: str) -> None:
        if not self.fields:
            raise ConfigError(f"{where}.fields", 'name at least one placeholder, e.g. { user_id = "id" }')
        for placeholder, column in self.fields.items():
            if not PLACEHOLDER.fullmatch(f"{{{placeholder}}}"):
                raise ConfigError(f"{where}.fields", f"{show(placeholder)} is not a placeholder name")
            if not column:
                raise ConfigError(f"{where}.fields.{placeholder}", "must name a column of the parent")
        if "" in self.include or len(set(self.include)) != len(self.include):
            raise ConfigError(f"{where}.include", f"{show(list(self.include))} must name distinct columns")
        if self.concurrency <= 0:
            raise ConfigError(f"{where}.concurrency", f"{self.concurrency} must be greater than 0")

    def columns(self) -> tuple[str, ...]:
        """The parent columns a child reads: those its placeholders and `include` name."""
        return tuple(dict.fromkeys((*self.fields.values(), *self.include)))


class Template(Protocol):
    """What a child's request is filled in from: a configured source (`model.Source`) is one."""

    name: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    formats: tuple[str, ...]
    parent: Parent | None


AnySource = TypeVar("AnySource", bound=Template)


def check_template(source: Template, where: str) -> None:
    """Every placeholder of `source`'s request has a field, every field a placeholder, and none
    sits in the scheme or host."""
    assert source.parent is not None
    parts = urlsplit(source.url)
    if PLACEHOLDER.search(f"{parts.scheme}://{parts.netloc}"):
        raise ConfigError(f"{where}.url", "placeholders may fill the path and query only, never the host")
    used = set()
    for key, text in _template_texts(source):
        for name in PLACEHOLDER.findall(text):
            if name not in source.parent.fields:
                raise ConfigError(
                    f"{where}.{key}",
                    f"{{{name}}} is not a placeholder of [sources.parent] fields "
                    f"({', '.join(source.parent.fields)})",
                )
            used.add(name)
    for name in source.parent.fields:
        if name not in used:
            raise ConfigError(
                f"{where}.parent.fields.{name}", f"{{{name}}} is in no url, params, headers or body"
            )


def check_parents(sources: tuple[Template, ...]) -> None:
    """Each parent is a source listed before its child (so `fetcher run` runs it first, and no
    two sources wait for each other) that writes Parquet, which its children read."""
    for index, source in enumerate(sources):
        if source.parent is None:
            continue
        key = f"sources[{index}].parent.source"
        earlier = {other.name: other for other in sources[:index]}
        parent = earlier.get(source.parent.source)
        if parent is None:
            raise ConfigError(
                key, f"{show(source.parent.source)} must be a source listed before {show(source.name)}"
            )
        if "parquet" not in parent.formats:
            raise ConfigError(key, f"{show(parent.name)} must write parquet: its children read it")


def fill(source: AnySource, values: Mapping[str, Any]) -> AnySource:
    """`source` with every placeholder filled from `values` (placeholder name -> parent value)."""
    texts = {name: as_text(value) for name, value in values.items()}
    parts = urlsplit(source.url)

    def encoded(match: re.Match[str]) -> str:
        return quote(texts[match.group(1)], safe="")

    def plain(match: re.Match[str]) -> str:
        return texts[match.group(1)]

    url = urlunsplit(
        parts._replace(path=PLACEHOLDER.sub(encoded, parts.path), query=PLACEHOLDER.sub(encoded, parts.query))
    )
    return msgspec.structs.replace(
        source,
        url=url,
        params={key: PLACEHOLDER.sub(plain, value) for key, value in source.params.items()},
        headers={key: PLACEHOLDER.sub(plain, value) for key, value in source.headers.items()},
        body=_fill_body(source.body, values, plain) if source.body is not None else None,
    )


def as_text(value: Any) -> str:
    """A parent value as a request carries it: JSON's spelling for booleans, ISO 8601 for times."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _fill_body(node: Any, values: Mapping[str, Any], plain: Any) -> Any:
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole is not None and isinstance(values[whole.group(1)], bool | int | float | str):
            return values[whole.group(1)]
        return PLACEHOLDER.sub(plain, node)
    if isinstance(node, dict):
        return {key: _fill_body(item, values, plain) for key, item in node.items()}
    if isinstance(node, list):
        return [_fill_body(item, values, plain) for item in node]
    return node


def _template_texts(source: Template) -> Iterator[tuple[str, str]]:
    """Every text of the request template, with the key it sits under."""
    parts = urlsplit(source.url)
    yield "url", parts.path + "?" + parts.query
    for key, value in source.params.items():
        yield f"params.{key}", value
    for key, value in source.headers.items():
        yield f"headers.{key}", value
    yield from _body_texts(source.body, "body")


def _body_texts(node: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for name, item in node.items():
            yield from _body_texts(item, f"{key}.{name}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _body_texts(item, f"{key}[{index}]")
