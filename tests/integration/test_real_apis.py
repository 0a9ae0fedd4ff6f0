"""Against real API servers nobody here wrote: DRF, FastAPI with fastapi-pagination, json-server 1.0
and a strawberry GraphQL API, each on 127.0.0.1, with a row count an exact multiple of the page size.

Each run must land every row exactly once, or fail with the error a person can act on.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from fetcher.config.load import load
from fetcher.run import runner
from fetcher.run.history import FAILED, SUCCEEDED, RunRecord

ROWS = 30  # three pages of 10: the page after the last is where APIs differ
README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"<!-- config: (\w+) -->\n```toml\n(.*?)```", re.S)


def readme_example(name: str, url: str) -> str:
    """The README's worked example `name`, its `[[sources]]` line and `url` replaced by the test's."""
    examples = dict(EXAMPLE.findall(README.read_text()))
    assert set(examples) == {"drf", "json_server", "post_body", "graphql", "fetch_ahead"}, examples.keys()
    text = re.sub(r'(?m)^url = ".*"$', "", examples[name].replace("[[sources]]\n", "", 1))
    return f'output_dir = "{{out}}"\n[[sources]]\nurl = "{url}"\n{text}'


def _run(write_config: Callable[[str], Path], url: str, settings: str) -> RunRecord:
    text = f'output_dir = "{{out}}"\n[[sources]]\nname = "users"\nurl = "{url}"\n' + textwrap.dedent(settings)
    config = load(str(write_config(text)), {})
    return runner.run(config, config.sources[0])


def _run_example(write_config: Callable[[str], Path], name: str, url: str) -> RunRecord:
    config = load(str(write_config(readme_example(name, url))), {})
    return runner.run(config, config.sources[0])


def _landed(tmp_path: Path) -> list[Any]:
    files = [str(path) for path in (tmp_path / "out" / "users").glob("fetch_date=*/*.parquet")]
    table = ds.dataset(files, format="parquet").to_table()
    return sorted(table.column("id").to_pylist())


def _assert_every_row_once(record: RunRecord, tmp_path: Path, ids: list[Any] | None = None) -> None:
    assert record.status == SUCCEEDED, record.error
    assert _landed(tmp_path) == (ids or list(range(1, ROWS + 1)))


class TestDjangoRestFramework:
    @pytest.fixture
    def drf(self) -> Any:
        from tests.servers.django_rest import serve_drf

        with serve_drf(ROWS) as url:
            yield url

    def test_page_paging_ends_on_404_past_the_last_page(
        self, drf: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run(
            write_config,
            f"{drf}/users/",
            """
            records = "results"
            [sources.pagination]
            type = "page"
            stop_on_status = [404]
            """,
        )

        _assert_every_row_once(record, tmp_path)
        assert record.pages == 3

    def test_page_paging_without_stop_on_status_fails_on_the_404(
        self, drf: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run(
            write_config, f"{drf}/users/", 'records = "results"\n[sources.pagination]\ntype = "page"\n'
        )

        assert record.status == FAILED
        assert record.error is not None and "HTTP 404 Not Found" in record.error.message
        assert "Invalid page." in record.error.message
        assert not list((tmp_path / "out").glob("**/*.parquet"))

    def test_404_on_the_first_page_still_fails(self, drf: str, write_config: Callable[[str], Path]) -> None:
        record = _run(
            write_config,
            f"{drf}/users/",
            'records = "results"\n[sources.pagination]\ntype = "page"\nstart = 9\nstop_on_status = [404]\n',
        )

        assert record.status == FAILED
        assert record.error is not None and "HTTP 404 Not Found" in record.error.message

    def test_readme_example_lands_every_row_once(
        self, drf: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        _assert_every_row_once(_run_example(write_config, "drf", f"{drf}/users/"), tmp_path)

    def test_limit_offset_stops_at_count(
        self, drf: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run(
            write_config,
            f"{drf}/users-offset/",
            """
            records = "results"
            [sources.pagination]
            type = "offset"
            limit = 10
            total_path = "count"
            """,
        )

        _assert_every_row_once(record, tmp_path)
        assert record.pages == 3


class TestFastApiPagination:
    @pytest.fixture
    def fastapi(self) -> Any:
        from tests.servers.fastapi_pages import serve_fastapi

        with serve_fastapi(ROWS) as url:
            yield url

    @pytest.mark.parametrize(
        ("stop", "pages"),
        [
            pytest.param("", 4, id="empty-page"),
            pytest.param('total_pages_path = "pages"', 3, id="total-pages"),
        ],
    )
    def test_page_paging_lands_every_row_once(
        self, fastapi: str, write_config: Callable[[str], Path], tmp_path: Path, stop: str, pages: int
    ) -> None:
        record = _run(
            write_config,
            f"{fastapi}/users",
            f"""
            records = "items"
            [sources.pagination]
            type = "page"
            size_param = "size"
            size = 10
            {stop}
            """,
        )

        _assert_every_row_once(record, tmp_path)
        assert record.pages == pages

    def test_readme_post_body_example_lands_every_row_once(
        self, fastapi: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run_example(write_config, "post_body", f"{fastapi}/users/search")

        _assert_every_row_once(record, tmp_path, list(range(1, ROWS + 1, 2)))

    def test_paging_values_in_a_post_body(
        self, fastapi: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run(
            write_config,
            f"{fastapi}/users/search",
            """
            method = "POST"
            body = { team = "b", page = 99 }
            records = "items"
            [sources.pagination]
            type = "page"
            in = "body"
            size_param = "size"
            size = 5
            has_more_path = "pages"
            """,
        )

        assert record.status == FAILED  # `pages` is a count, not true or false
        assert (
            record.error is not None
            and "has_more_path 'pages' holds 3, not true or false" in record.error.message
        )

        record = _run(
            write_config,
            f"{fastapi}/users/search",
            """
            method = "POST"
            body = { team = "b", page = 99 }
            records = "items"
            [sources.pagination]
            type = "page"
            in = "body"
            size_param = "size"
            size = 5
            total_pages_path = "pages"
            """,
        )

        _assert_every_row_once(record, tmp_path, list(range(1, ROWS + 1, 2)))
        assert record.pages == 3


class TestJsonServer:
    @pytest.fixture
    def json_server(self, tmp_path: Path) -> Any:
        from tests.servers.json_server import serve_json_server

        with serve_json_server(ROWS, tmp_path / "db") as url:
            yield url

    PAGED = """
        records = "data"
        [sources.pagination]
        type = "page"
        param = "_page"
        size_param = "_per_page"
        size = 10
        """

    @pytest.mark.parametrize(
        "stop",
        [
            pytest.param('repeated_page = "stop"', id="repeat"),
            pytest.param('total_pages_path = "pages"', id="pages"),
        ],
    )
    def test_page_paging_lands_every_row_once(
        self, json_server: str, write_config: Callable[[str], Path], tmp_path: Path, stop: str
    ) -> None:
        record = _run(write_config, f"{json_server}/users", self.PAGED + f"        {stop}\n")

        _assert_every_row_once(record, tmp_path, sorted(str(n) for n in range(1, ROWS + 1)))
        assert record.pages == 3

    def test_readme_example_lands_every_row_once(
        self, json_server: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run_example(write_config, "json_server", f"{json_server}/users")

        _assert_every_row_once(record, tmp_path, sorted(str(n) for n in range(1, ROWS + 1)))

    def test_last_page_repeated_fails_as_a_loop_by_default(
        self, json_server: str, write_config: Callable[[str], Path]
    ) -> None:
        record = _run(write_config, f"{json_server}/users", self.PAGED)

        assert record.status == FAILED
        assert record.error is not None
        assert (
            "pagination loops: page 4" in record.error.message
            and "repeats page 3 exactly" in record.error.message
        )


QUERY = """
query Users($first: Int!, $after: String) {
  users(first: $first, after: $after) {
    nodes { id name team { name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class TestStrawberryGraphQL:
    @pytest.fixture
    def graphql(self) -> Any:
        from tests.servers.strawberry_graphql import serve_graphql

        with serve_graphql(ROWS) as url:
            yield url

    def test_cursor_run_lands_every_row_once(
        self, graphql: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run(
            write_config,
            graphql,
            f"""
            records = "data.users.nodes"
            [sources.graphql]
            query = \"\"\"{QUERY}\"\"\"
            variables = {{ first = 10 }}
            [sources.pagination]
            type = "cursor"
            cursor_path = "data.users.pageInfo.endCursor"
            cursor_variable = "after"
            has_more_path = "data.users.pageInfo.hasNextPage"
            """,
        )

        _assert_every_row_once(record, tmp_path)
        assert record.pages == 3

    def test_readme_example_lands_every_row_once(
        self, graphql: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run_example(write_config, "graphql", graphql)

        _assert_every_row_once(record, tmp_path)
        assert record.pages == 3

    def test_graphql_errors_fail_the_run_with_their_message(
        self, graphql: str, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        record = _run(
            write_config,
            graphql,
            """
            records = "data.broken"
            [sources.graphql]
            query = "{ broken { id } }"
            """,
        )

        assert record.status == FAILED
        assert record.error is not None
        assert record.error.message.endswith(": GraphQL errors: the users database is down")
        assert not list((tmp_path / "out").glob("**/*.parquet"))
