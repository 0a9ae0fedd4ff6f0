"""GraphQL over HTTP: the POST body of a query with its variables, and the errors a 200 can carry."""

from __future__ import annotations

from typing import Any

import msgspec

from fetcher.errors import ConfigError, FetchError
from fetcher.redact import redact

_SHOWN_ERRORS = 3
_MESSAGE_CHARS = 200


class GraphQL(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sources.graphql]`: the query a source POSTs, and its variables.

    The records are at the source's `records` path from the top of the response (`data.users.nodes`);
    a `cursor` pagination with `cursor_variable` sends each next cursor as that variable.
    """

    query: str
    variables: dict[str, Any] = {}

    def check(self, where: str) -> None:
        if not self.query.strip():
            raise ConfigError(f"{where}.query", "must not be empty")

    def payload(self) -> dict[str, Any]:
        """The JSON body of the request: `{"query": ..., "variables": {...}}`."""
        return {"query": self.query, "variables": dict(self.variables)}


def raise_errors(document: Any, url: str) -> None:
    """Raise FetchError with the first few messages when `document` carries GraphQL `errors`.

    A GraphQL server answers 200 to a query it could not run, and says so in `errors`; `url` is
    already redacted.
    """
    errors = document.get("errors") if isinstance(document, dict) else None
    if not errors:
        return
    listed = errors if isinstance(errors, list) else [errors]
    messages = [_message(error) for error in listed[:_SHOWN_ERRORS]]
    more = f" (and {len(listed) - _SHOWN_ERRORS} more)" if len(listed) > _SHOWN_ERRORS else ""
    raise FetchError(url, f"GraphQL errors: {'; '.join(messages)}{more}", status=200)


def _message(error: Any) -> str:
    text = error.get("message") if isinstance(error, dict) else None
    text = " ".join(str(error if text is None else text).split())
    return redact(text if len(text) <= _MESSAGE_CHARS else f"{text[:_MESSAGE_CHARS]}…")
