"""Placeholders in a source's request: `{name}` in the URL's path and query, params, headers and body.

The one place they are found and filled. A parent row names some (`[sources.parent] fields`:
`{user_id}`), the run the others: the incremental cursor and the time window (`{cursor}`,
`{window_start}`, `{window_end}`). `fill` replaces the placeholders it has values for and leaves
any other braces alone, so that a body may hold literal braces (a GraphQL query) and a child's
window and parent row may be filled one after the other. Values in the URL are percent-encoded;
a body string that is exactly one placeholder takes the value with its own JSON type (a number
stays a number). The scheme and host are never filled: credentials go to the configured origin only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

from fetcher.errors import ConfigError

PATTERN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Template(Protocol):
    """What a request is filled in from: a configured source (`model.Source`) is one."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None


AnySource = TypeVar("AnySource", bound=Template)


def fill(source: AnySource, values: Mapping[str, Any]) -> AnySource:
    """`source` with each placeholder named in `values` filled in; `source` itself if `values` is empty."""
    if not values:
        return source
    texts = {name: as_text(value) for name, value in values.items()}
    return msgspec.structs.replace(
        source,
        url=fill_url(source.url, texts),
        params=fill_in(source.params, texts),
        headers=fill_in(source.headers, texts),
        body=fill_in(source.body, values, typed=True),
    )


def fill_url(url: str, texts: Mapping[str, str]) -> str:
    """`url` with its path's and query's placeholders filled in, percent-encoded; scheme and host kept."""
    parts = urlsplit(url)
    path, query = (
        fill_in(part, texts, lambda text: quote(text, safe="")) for part in (parts.path, parts.query)
    )
    if (path, query) == (parts.path, parts.query):
        return url
    return urlunsplit(parts._replace(path=path, query=query))


def fill_in(
    template: Any,
    values: Mapping[str, Any],
    encode: Callable[[str], str] | None = None,
    *,
    typed: bool = False,
) -> Any:
    """`template` with each `{name}` of `values` replaced, in every string of nested tables and lists.

    Values are spelled as text (`as_text`), then `encode`d if asked (a URL's percent-encoding);
    with `typed` (a JSON body), a string that is exactly one placeholder becomes the value itself
    when it is a JSON scalar. Other values pass as they are.
    """
    if isinstance(template, str):
        whole = PATTERN.fullmatch(template) if typed else None
        if whole is not None and isinstance(values.get(whole.group(1)), bool | int | float | str):
            return values[whole.group(1)]
        return PATTERN.sub(lambda match: _value(match, values, encode), template)
    if isinstance(template, Mapping):
        return {key: fill_in(value, values, encode, typed=typed) for key, value in template.items()}
    if isinstance(template, list | tuple):
        return [fill_in(item, values, encode, typed=typed) for item in template]
    return template


def names(template: Any) -> set[str]:
    """Every `{name}` in `template`'s strings, nested tables and lists included."""
    return {name for _, text in texts(template, "") for name in PATTERN.findall(text)}


def texts(template: Any, key: str) -> Iterator[tuple[str, str]]:
    """Every string of `template`, with the key it sits under (`body.filter.since`, `body.ids[0]`)."""
    if isinstance(template, str):
        yield key, template
    elif isinstance(template, Mapping):
        for name, item in template.items():
            yield from texts(item, f"{key}.{name}" if key else str(name))
    elif isinstance(template, list | tuple):
        for index, item in enumerate(template):
            yield from texts(item, f"{key}[{index}]")


def check_host(url: str, where: str) -> None:
    """Raise ConfigError if a placeholder sits in `url`'s scheme or host: they are never filled."""
    parts = urlsplit(url)
    if PATTERN.search(f"{parts.scheme}://{parts.netloc}"):
        raise ConfigError(where, "placeholders may fill the path and query only, never the host")


def as_text(value: Any) -> str:
    """A value as a request carries it: JSON's spelling for booleans, ISO 8601 for times."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _value(match: re.Match[str], values: Mapping[str, Any], encode: Callable[[str], str] | None) -> str:
    if match.group(1) not in values:
        return match.group(0)
    text = as_text(values[match.group(1)])
    return encode(text) if encode else text
