"""Pages by the fast path (fetcher.records.arrowpage): the table built as the page is fetched.

A source whose pages the fast path may build: a JSON body (not NDJSON), no column declared decimal
(those need exact decimals), no `primary_key` (the Deduplicator works on Python records) and no
paging path into the records themselves (paginators read the body, where the records stay raw).
Any page the fast path declines returns None here and takes the exact path.
"""

from __future__ import annotations

from typing import Any

from fetcher.config.model import Source
from fetcher.http import graphql
from fetcher.http.decode import NDJSON_TYPES, decode
from fetcher.pagination.pages import Page, PageRequest
from fetcher.records import arrowpage
from fetcher.records import flatten as records
from fetcher.records.arrowcolumns import Declined


def allowed(source: Source) -> bool:
    """Whether pages of `source` may take the fast path at all."""
    incremental = source.incremental
    if source.format == "ndjson" or source.rules.needs_decimals or (incremental and incremental.primary_key):
        return False
    paths = [getattr(source.pagination, key, None) for key in type(source.pagination)._BODY_PATHS]
    within = source.records + "." if source.records else ""
    return not any(path == source.records or path.startswith(within) for path in paths if path)


class FastPages:
    """Builds the pages of one source by the fast path; thread-safe (the schema hint has a lock)."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._hint = arrowpage.SchemaHint()

    def page(self, request: PageRequest, response: Any, shown: str) -> Page | None:
        """The page with its table built by the fast path, or None to take the exact path."""
        source = self._source
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";", 1)[0].strip().lower() in NDJSON_TYPES:
            return None
        content = response.content
        try:
            split = arrowpage.split(content, source.records)
        except Declined as declined:
            arrowpage.log_declined(source.name, declined)
            return None
        table = arrowpage.fast_table(split, source.rules, source.name, self._hint)
        if table is None:
            return None
        if source.graphql is not None:
            graphql.raise_errors(split.body, shown)

        def load() -> list[dict[str, Any]]:
            document = decode(content, content_type, format=source.format)
            return records.extract(document.value, source.records, shown)

        found = arrowpage.LazyRecords(len(split.raws), load)
        return Page(request, response.url, response.headers, split.body, found, content, table=table)


def for_source(source: Source) -> FastPages | None:
    """The fast path's builder of `source`'s pages, or None when they must all take the exact path."""
    return FastPages(source) if allowed(source) else None
