"""Parent/child sources: `[sources.parent]`, its checks, and a child's request filled in for a row.

A child source takes request values from its parent's records: `fields = { user_id = "id" }`
fills `{user_id}` in the child's URL path and query, `params`, `headers` and `body` with the
parent row's `id` column (its landed name), as fetcher.config.placeholders fills every
placeholder. A child may also use the run's own placeholders (`{cursor}`, `{window_start}`,
`{window_end}`): fields may not take their names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from fetcher.config import placeholders
from fetcher.config.convert import show
from fetcher.config.incremental import RUN_PLACEHOLDERS
from fetcher.errors import ConfigError

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
            if not placeholders.PATTERN.fullmatch(f"{{{placeholder}}}"):
                raise ConfigError(f"{where}.fields", f"{show(placeholder)} is not a placeholder name")
            if placeholder in RUN_PLACEHOLDERS:
                raise ConfigError(
                    f"{where}.fields", f"{{{placeholder}}} is filled by the run; name the field otherwise"
                )
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


def check_template(source: Template, where: str) -> None:
    """Every placeholder of `source`'s request but the run's has a field, and every field a
    placeholder (none sits in the scheme or host: `placeholders.check_host`)."""
    assert source.parent is not None
    used = set()
    for key, text in _template_texts(source):
        for name in placeholders.PATTERN.findall(text):
            if name in RUN_PLACEHOLDERS:
                continue
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


def _template_texts(source: Template) -> Iterator[tuple[str, str]]:
    """Every text of the request template, with the key it sits under."""
    parts = urlsplit(source.url)
    yield "url", parts.path + "?" + parts.query
    yield from placeholders.texts(source.params, "params")
    yield from placeholders.texts(source.headers, "headers")
    yield from placeholders.texts(source.body, "body")
