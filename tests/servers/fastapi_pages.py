"""A FastAPI API paged by fastapi-pagination on 127.0.0.1: `GET /users?page=&size=` answers
`{items, total, page, size, pages}`, and `POST /users/search` takes its page and size in the
JSON body, as search endpoints do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.servers import users
from tests.servers.asgi import serve_asgi

fastapi = pytest.importorskip("fastapi", reason="a test dependency: pip install -r requirements-test.txt")
pytest.importorskip("fastapi_pagination")

from fastapi_pagination import Page, Params, add_pagination, paginate  # noqa: E402
from fastapi_pagination.utils import disable_installed_extensions_check  # noqa: E402
from pydantic import BaseModel  # noqa: E402

disable_installed_extensions_check()  # Django is installed for the DRF server, not for this one


class Team(BaseModel):
    name: str


class User(BaseModel):
    id: int
    name: str
    team: Team


class Search(BaseModel):
    team: str
    page: int = 1
    size: int = 50


def _app(rows: list[dict[str, Any]]) -> Any:
    app = fastapi.FastAPI()

    @app.get("/users", response_model=Page[User])
    def list_users() -> Any:
        return paginate(rows)

    @app.post("/users/search", response_model=Page[User])
    def search_users(search: Search) -> Any:
        found = [row for row in rows if row["team"]["name"] == search.team]
        return paginate(found, Params(page=search.page, size=search.size))

    add_pagination(app)
    return app


@contextmanager
def serve_fastapi(count: int) -> Iterator[str]:
    """Serve `count` users; yields the base URL."""
    with serve_asgi(_app(users(count))) as url:
        yield url
