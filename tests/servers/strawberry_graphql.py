"""A GraphQL API built with strawberry on 127.0.0.1: `users(first, after)` is a cursor connection
(`nodes`, `pageInfo { hasNextPage endCursor }`), and `broken` always answers a GraphQL error."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.servers import users
from tests.servers.asgi import serve_asgi

strawberry = pytest.importorskip(
    "strawberry", reason="a test dependency: pip install -r requirements-test.txt"
)

from strawberry.asgi import GraphQL  # noqa: E402

_ROWS: list[dict[str, Any]] = []


@strawberry.type
class Team:
    name: str


@strawberry.type
class User:
    id: int
    name: str
    team: Team


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class UserConnection:
    nodes: list[User]
    page_info: PageInfo


def _cursor(index: int) -> str:
    return base64.b64encode(f"user:{index}".encode()).decode()


def _index(cursor: str) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1])


@strawberry.type
class Query:
    @strawberry.field
    def users(self, first: int = 10, after: str | None = None) -> UserConnection:
        start = _index(after) + 1 if after else 0
        window = _ROWS[start : start + first]
        end = start + len(window) - 1
        return UserConnection(
            nodes=[
                User(id=row["id"], name=row["name"], team=Team(name=row["team"]["name"])) for row in window
            ],
            page_info=PageInfo(
                has_next_page=end + 1 < len(_ROWS), end_cursor=_cursor(end) if window else None
            ),
        )

    @strawberry.field
    def broken(self) -> list[User]:
        raise RuntimeError("the users database is down")


class _Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        pass  # the errors are the point of `broken`: do not log their tracebacks


@contextmanager
def serve_graphql(count: int) -> Iterator[str]:
    """Serve `count` users at `/graphql`; yields that URL."""
    _ROWS[:] = users(count)
    with serve_asgi(GraphQL(_Schema(query=Query))) as url:
        yield f"{url}/graphql"
