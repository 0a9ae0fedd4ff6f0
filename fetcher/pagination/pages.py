"""The values pagination passes around: a request to make and a page fetched."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fetcher.redact import redact

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class PageRequest:
    """One request to make: a URL, the query parameters added to it and, for a POST, its JSON body.

    A request with a body is sent as a POST; one without, with the source's method.
    """

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None

    def with_params(self, **changes: str) -> PageRequest:
        return replace(self, params={**self.params, **changes})

    def with_body(self, **changes: Any) -> PageRequest:
        return replace(self, body={**(self.body or {}), **changes})

    def with_variables(self, **changes: Any) -> PageRequest:
        """The request with `changes` in its body's GraphQL `variables`."""
        variables = (self.body or {}).get("variables") or {}
        return self.with_body(variables={**variables, **changes})

    @property
    def full_url(self) -> str:
        """The URL with `params` merged into its query, canonically ordered: equal requests match."""
        parts = urlsplit(self.url)
        query = parse_qsl(parts.query, keep_blank_values=True) + list(self.params.items())
        return urlunsplit(parts._replace(query=urlencode(sorted(query)), fragment=""))

    @property
    def identity(self) -> str:
        """What tells this request from another: the full URL and the body, canonically written."""
        if self.body is None:
            return self.full_url
        return f"{self.full_url} {json.dumps(self.body, sort_keys=True, separators=(',', ':'))}"

    def describe(self) -> str:
        """The request on one redacted line, for an error message."""
        if self.body is None:
            return redact(self.full_url)
        return redact(f"{self.full_url} with body {_cut(json.dumps(self.body, sort_keys=True))}")


@dataclass(frozen=True)
class Page:
    """One fetched page: the request, the final URL after redirects, headers, body and records.

    `exact` says the body needed the exact JSON parser (NaN, huge integers); `content` is the raw
    body, kept to spot an API that serves the same page forever. `table` is the page's table when
    the fast path built it (fetcher.records.arrowpage); its `records` are then decoded only when
    asked for, and its `body` holds the records as raw JSON.
    """

    request: PageRequest
    url: str
    headers: Mapping[str, str]
    body: Any
    records: Sequence[dict[str, Any]]
    content: bytes = field(repr=False)
    exact: bool = False
    table: pa.Table | None = field(default=None, repr=False)

    @property
    def record_count(self) -> int:
        return len(self.records)


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
