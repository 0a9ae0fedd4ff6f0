"""Loading: every key parsed into typed values, every bad key or type a one-line ConfigError."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.config import load as config
from fetcher.config.model import Incremental, Retry
from fetcher.errors import EXIT_CONFIG, ConfigError
from fetcher.http.auth import ApiKey, Basic, Bearer
from fetcher.pagination.kinds import Cursor, Link, NextUrl, NoPagination, Offset, PageNumber

REPO = Path(__file__).resolve().parents[2]

FULL = """
output_dir = "{out}"

[[sources]]
name = "orders"
url = "https://api.example.com/v1/orders"
method = "POST"
params = { status = "open", limit = 50, active = true }
headers = { "X-Team" = "data" }
body = { query = { since = "2026-01-01" } }
records = "data.items"
formats = ["parquet"]
schedule = "*/15 * * * *"
timeout_s = 10
run_timeout_s = 600
max_response_mb = 64

[sources.retry]
max_attempts = 3
max_wait_s = 5.5

[sources.pagination]
type = "cursor"
cursor_path = "meta.next"
cursor_param = "after"
max_pages = 50

[sources.auth]
type = "bearer"
token_env = "ORDERS_TOKEN"

[sources.incremental]
cursor_field = "updated_at"
param = "updated_since"
initial = "2026-01-01T00:00:00Z"
primary_key = ["id", "region"]

[[sources]]
name = "weather"
url = "https://api.example.com/forecast"
"""


class TestLoadFile:
    def test_load_full_file_gives_typed_values(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        settings = config.load(str(write_config(FULL)), {})

        orders, weather = settings.sources
        assert settings.output_dir == str(tmp_path / "out")
        assert orders.method == "POST"
        assert orders.params == {"status": "open", "limit": "50", "active": "true"}
        assert orders.headers == {"X-Team": "data"}
        assert orders.body == {"query": {"since": "2026-01-01"}}
        assert orders.records == "data.items"
        assert orders.formats == ("parquet",)
        assert orders.schedule == "*/15 * * * *"
        assert (orders.timeout_s, orders.run_timeout_s, orders.max_response_mb) == (10.0, 600.0, 64.0)
        assert orders.retry == Retry(max_attempts=3, max_wait_s=5.5)
        assert orders.pagination == Cursor(cursor_path="meta.next", cursor_param="after", max_pages=50)
        assert orders.auth == Bearer(token_env="ORDERS_TOKEN")
        assert orders.auth.secret == ""  # loading reads no secret: secrets.resolve does
        assert orders.incremental == Incremental(
            cursor_field="updated_at",
            param="updated_since",
            initial="2026-01-01T00:00:00Z",
            primary_key=("id", "region"),
        )
        assert weather.name == "weather"

    def test_load_omitted_keys_take_documented_defaults(self, write_config: Callable[[str], Path]) -> None:
        settings = config.load(str(write_config('[[sources]]\nname = "a"\nurl = "http://127.0.0.1/x"\n')), {})

        (source,) = settings.sources
        assert settings.output_dir == "/out"
        assert source.method == "GET"
        assert source.records == ""
        assert source.formats == ("parquet", "csv")
        assert source.schedule == "0 * * * *"
        assert (source.timeout_s, source.run_timeout_s, source.max_response_mb) == (30.0, 3000.0, 256.0)
        assert source.retry == Retry(max_attempts=5, max_wait_s=60.0)
        assert source.pagination == NoPagination(max_pages=1000)
        assert source.auth is None and source.incremental is None

    @pytest.mark.parametrize(
        ("table", "expected"),
        [
            pytest.param('type = "page"', PageNumber(), id="page-defaults"),
            pytest.param(
                'type = "page"\nparam = "p"\nstart = 0\nsize_param = "per_page"\nsize = 20',
                PageNumber(param="p", start=0, size_param="per_page", size=20),
                id="page",
            ),
            pytest.param('type = "offset"', Offset(), id="offset-defaults"),
            pytest.param(
                'type = "offset"\noffset_param = "skip"\nlimit_param = "take"\n'
                'limit = 10\ntotal_path = "total"',
                Offset(offset_param="skip", limit_param="take", limit=10, total_path="total"),
                id="offset",
            ),
            pytest.param('type = "link"', Link(), id="link"),
            pytest.param('type = "next_url"\nnext_path = "next"', NextUrl(next_path="next"), id="next_url"),
        ],
    )
    def test_load_pagination_kind_gives_its_settings(
        self, write_config: Callable[[str], Path], table: str, expected: object
    ) -> None:
        path = write_config(f'[[sources]]\nname = "a"\nurl = "http://h/x"\n[sources.pagination]\n{table}\n')

        assert config.load(str(path), {}).sources[0].pagination == expected

    @pytest.mark.parametrize(
        ("table", "expected"),
        [
            pytest.param(
                'type = "basic"\nusername = "ann"\npassword_file = "/run/secrets/pw"',
                Basic(username="ann", password_file="/run/secrets/pw"),
                id="basic",
            ),
            pytest.param(
                'type = "api_key"\ntoken_env = "K"\nquery = "appid"',
                ApiKey(token_env="K", query="appid"),
                id="api-key-query",
            ),
        ],
    )
    def test_load_auth_kind_gives_its_settings_without_reading_the_secret(
        self, write_config: Callable[[str], Path], table: str, expected: object
    ) -> None:
        path = write_config(f'[[sources]]\nname = "a"\nurl = "http://h/x"\n[sources.auth]\n{table}\n')

        assert config.load(str(path), {}).sources[0].auth == expected

    def test_load_primary_key_as_string_becomes_tuple(self, write_config: Callable[[str], Path]) -> None:
        path = write_config(
            '[[sources]]\nname = "a"\nurl = "http://h/x"\n'
            '[sources.incremental]\ncursor_field = "t"\nparam = "since"\nprimary_key = "id"\n'
        )

        assert config.load(str(path), {}).sources[0].incremental.primary_key == ("id",)


class TestLocate:
    def test_load_prefers_cli_path_over_fetcher_config(self, write_config: Callable[[str], Path]) -> None:
        path = write_config('[[sources]]\nname = "from-cli"\nurl = "http://h/x"\n')

        settings = config.load(str(path), {"FETCHER_CONFIG": "/nonexistent.toml", "FETCH_URL": "http://h"})

        assert settings.sources[0].name == "from-cli"

    def test_load_uses_fetcher_config_variable(self, write_config: Callable[[str], Path]) -> None:
        path = write_config('[[sources]]\nname = "from-env"\nurl = "http://h/x"\n')

        assert config.load(None, {"FETCHER_CONFIG": str(path)}).sources[0].name == "from-env"

    def test_load_uses_default_path_when_it_exists(
        self, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write_config('[[sources]]\nname = "default"\nurl = "http://h/x"\n')
        monkeypatch.setattr(config, "DEFAULT_CONFIG_PATH", str(path))

        assert config.load(None, {"FETCH_URL": "http://ignored"}).sources[0].name == "default"

    def test_load_without_file_builds_source_from_environment(self, tmp_path: Path) -> None:
        token_file = tmp_path / "token"
        settings = config.load(
            None,
            {
                "FETCH_URL": "https://api.example.com/v1/things",
                "FETCH_NAME": "things",
                "FETCH_RECORDS": "results",
                "FETCH_FORMATS": "csv, parquet",
                "FETCH_SCHEDULE": "5 * * * *",
                "FETCH_PARAMS": "a=1&b=two",
                "FETCH_BEARER_TOKEN_FILE": str(token_file),
                "FETCH_OUTPUT_DIR": str(tmp_path),
            },
        )

        (source,) = settings.sources
        assert settings.origin == "environment"
        assert settings.output_dir == str(tmp_path)
        assert (source.name, source.url, source.records) == (
            "things",
            "https://api.example.com/v1/things",
            "results",
        )
        assert source.formats == ("csv", "parquet")
        assert source.schedule == "5 * * * *"
        assert source.params == {"a": "1", "b": "two"}
        assert source.auth == Bearer(token_file=str(token_file))

    def test_load_environment_defaults_name_to_api(self) -> None:
        settings = config.load(None, {"FETCH_URL": "http://h/x", "FETCH_BEARER_TOKEN": "t0k"})

        assert settings.sources[0].name == "api"
        assert settings.sources[0].auth == Bearer(token_env="FETCH_BEARER_TOKEN")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param(
            {
                "FETCH_PAGINATION": "page",
                "FETCH_PAGINATION_SIZE_PARAM": "per_page",
                "FETCH_PAGINATION_SIZE": "100",
            },
            PageNumber(size_param="per_page", size=100),
            id="page",
        ),
        pytest.param(
            {
                "FETCH_PAGINATION": "offset",
                "FETCH_PAGINATION_LIMIT": "50",
                "FETCH_PAGINATION_TOTAL_PATH": "meta.total",
            },
            Offset(limit=50, total_path="meta.total"),
            id="offset",
        ),
        pytest.param(
            {
                "FETCH_PAGINATION": "cursor",
                "FETCH_PAGINATION_CURSOR_PATH": "next_cursor",
                "FETCH_PAGINATION_CURSOR_PARAM": "1",  # a name, never a number
            },
            Cursor(cursor_path="next_cursor", cursor_param="1"),
            id="cursor",
        ),
        pytest.param(
            {"FETCH_PAGINATION": "link", "FETCH_PAGINATION_MAX_PAGES": "20"}, Link(max_pages=20), id="link"
        ),
        pytest.param(
            {"FETCH_PAGINATION": "next_url", "FETCH_PAGINATION_NEXT_PATH": "links.next"},
            NextUrl(next_path="links.next"),
            id="next_url",
        ),
    ],
)
def test_load_environment_pages_by_fetch_pagination(variables: dict[str, str], expected: object) -> None:
    settings = config.load(None, {"FETCH_URL": "http://h/x", **variables})

    assert settings.sources[0].pagination == expected


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        pytest.param(
            {"FETCH_PAGINATION_SIZE": "100"},
            "FETCH_PAGINATION: is required with FETCH_PAGINATION_SIZE; "
            "one of: none, page, offset, cursor, link, next_url",
            id="keys-without-the-kind",
        ),
        pytest.param(
            {"FETCH_PAGINATION": "pages"},
            'FETCH_PAGINATION: "pages" is not one of: none, page, offset, cursor, link, next_url',
            id="unknown-kind",
        ),
        pytest.param(
            {"FETCH_PAGINATION": "offset", "FETCH_PAGINATION_LIMIT": "many"},
            'FETCH_PAGINATION_LIMIT: "many" is not an integer',
            id="not-a-number",
        ),
        pytest.param(
            {"FETCH_PAGINATION": "page", "FETCH_PAGINATION_SIZE": "0"},
            "FETCH_PAGINATION_SIZE: 0 must be greater than 0",
            id="checked-by-the-kind",
        ),
        pytest.param(
            {"FETCH_PAGINATION": "cursor", "FETCH_PAGINATION_CURSOR_PARAM": "c"},
            'FETCH_PAGINATION_CURSOR_PATH: is required for type = "cursor"',
            id="missing-key",
        ),
        pytest.param(
            {"FETCH_PAGINATION": "page", "FETCH_PAGINATION_SISE": "10"},
            'FETCH_PAGINATION_SISE: unknown key with type = "page"; allowed: type, param, start, size_param, '
            "size, max_pages, concurrency, in, has_more_path, total_pages_path, stop_on_status, "
            "repeated_page; did you mean size?",
            id="misspelt-key",
        ),
    ],
)
def test_load_environment_pagination_errors_name_the_variable(
    variables: dict[str, str], message: str
) -> None:
    assert str(_error(None, {"FETCH_URL": "http://h/x", **variables})) == message


def _error(path: Path | None, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config.load(str(path) if path else None, env or {})
    assert caught.value.exit_code == EXIT_CONFIG
    assert "\n" not in str(caught.value)
    return caught.value


SOURCE = '[[sources]]\nname = "a"\nurl = "http://h/x"\n'


TABLES = (
    "tables: [sources.graphql], [sources.retry], [sources.pagination], [sources.auth], "
    "[sources.incremental], [sources.notify], [sources.guards], [sources.parent], [sources.rate_limit]"
)
TOP = (
    "output_dir, s3_endpoint_url, sources, notify, metrics, report_runs, max_parallel_sources, lock, lease_s"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            SOURCE + '[sources.paginaton]\ntype = "page"\n',
            "sources[0].paginaton: unknown key; allowed: name, url, method, params, headers, body, graphql, "
            "records, format, formats, schedule, timeout_s, run_timeout_s, max_response_mb, retry, "
            "pagination, auth, incremental, notify, guards, parent, rate_limit, flatten_separator, "
            "column_names, infer_types, columns, exclude; tables: [guards.actions]; did you mean pagination?",
            id="misspelt-section",
        ),
        pytest.param(
            SOURCE + '[source.auth]\ntype = "bearer"\n',
            f"source: unknown key; allowed: {TOP}; {TABLES}; did you mean sources?",
            id="misspelt-parent",
        ),
        pytest.param(
            SOURCE + '[pagination]\ntype = "page"\n',
            f"pagination: unknown key; allowed: {TOP}; {TABLES}; did you mean [sources.pagination]?",
            id="section-at-the-top",
        ),
        pytest.param(
            SOURCE + '[sources.incremental]\ncursor_feild = "id"\nparam = "since"\n',
            "sources[0].incremental.cursor_feild: unknown key; allowed: cursor_field, param, initial, "
            "primary_key, start_param, end_param, window, lookback, end; did you mean cursor_field?",
            id="misspelt-key-in-a-section",
        ),
    ],
)
def test_unknown_key_lists_every_key_and_table_and_the_closest(
    text: str, message: str, write_config: Callable[[str], Path]
) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(str(write_config(text)), {})

    assert str(caught.value) == message


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            pytest.param(
                'output = "/x"\n' + SOURCE,
                "output",
                "allowed: output_dir, s3_endpoint_url, sources, notify, metrics, report_runs, "
                "max_parallel_sources, lock, lease_s",
                id="unknown-top-key",
            ),
            pytest.param(
                SOURCE + "recrods = 'x'\n",
                "sources[0].recrods",
                "allowed: name, url",
                id="unknown-source-key",
            ),
            pytest.param(
                SOURCE + "[sources.retry]\nattempts = 3\n",
                "sources[0].retry.attempts",
                "allowed: max_attempts, max_wait_s",
                id="unknown-retry-key",
            ),
            pytest.param(
                SOURCE + '[sources.pagination]\ntype = "page"\ncursor_path = "x"\n',
                "sources[0].pagination.cursor_path",
                'unknown key with type = "page"',
                id="key-of-other-kind",
            ),
            pytest.param(
                SOURCE + 'timeout_s = "30"\n',
                "sources[0].timeout_s",
                '"30" is not a number',
                id="wrong-type-number",
            ),
            pytest.param(
                SOURCE + "timeout_s = true\n",
                "sources[0].timeout_s",
                "true is not a number",
                id="bool-is-not-number",
            ),
            pytest.param(
                SOURCE + "[sources.retry]\nmax_attempts = 1.5\n",
                "sources[0].retry.max_attempts",
                "is not an integer",
                id="float-attempts",
            ),
            pytest.param(
                SOURCE + "params = { a = [1] }\n",
                "sources[0].params.a",
                "not a string, number or boolean",
                id="param-list",
            ),
            pytest.param(
                SOURCE + "headers = 'x'\n", "sources[0].headers", '"x" is not a table', id="headers-not-table"
            ),
            pytest.param(
                '[[sources]]\nurl = "http://h/x"\n', "sources[0].name", "is required", id="missing-name"
            ),
            pytest.param(
                SOURCE + '[sources.pagination]\ntype = "pages"\n',
                "sources[0].pagination.type",
                '"pages" is not one of: none, page, offset, cursor, link, next_url',
                id="unknown-pagination",
            ),
            pytest.param(
                SOURCE + '[sources.pagination]\ntype = "cursor"\ncursor_param = "c"\n',
                "sources[0].pagination.cursor_path",
                'is required for type = "cursor"',
                id="cursor-without-path",
            ),
            pytest.param(
                SOURCE + '[sources.pagination]\ntype = "next_url"\n',
                "sources[0].pagination.next_path",
                "is required",
                id="next-url-without-path",
            ),
            pytest.param(
                SOURCE + '[sources.auth]\ntype = "oauth"\n',
                "sources[0].auth.type",
                '"oauth" is not one of: bearer, basic, api_key',
                id="unknown-auth",
            ),
            pytest.param(
                SOURCE + "[sources.auth]\ntoken_env = 'T'\n",
                "sources[0].auth.type",
                "is required",
                id="auth-without-type",
            ),
            pytest.param(
                SOURCE + '[sources.auth]\ntype = "basic"\npassword_env = "P"\n',
                "sources[0].auth.username",
                "is required",
                id="basic-without-username",
            ),
            pytest.param(
                SOURCE + '[sources.incremental]\nparam = "since"\n',
                "sources[0].incremental.cursor_field",
                "is required",
                id="incremental-without-field",
            ),
            pytest.param(
                SOURCE + '[sources.incremental]\ncursor_field = "t"\nparam = "s"\ninitial = [1]\n',
                "sources[0].incremental.initial",
                "is not a string or an integer or a number",
                id="incremental-bad-initial",
            ),
            pytest.param('output_dir = "/x"\n', "sources", "at least one [[sources]]", id="no-sources"),
        ],
    )
    def test_load_bad_value_names_key_value_and_allowed(
        self, write_config: Callable[[str], Path], text: str, key: str, words: str
    ) -> None:
        error = _error(write_config(text))

        assert error.key == key
        assert words in str(error)
        assert str(error).startswith(f"{key}: ")

    @pytest.mark.parametrize("key", ["token", "password", "key", "api_key", "secret"])
    def test_load_inline_secret_is_refused_and_its_value_redacted(
        self, write_config: Callable[[str], Path], key: str
    ) -> None:
        error = _error(write_config(SOURCE + f'[sources.auth]\ntype = "bearer"\n{key} = "hunter2-inline"\n'))

        assert error.key == f"sources[0].auth.{key}"
        assert "inline secrets are not allowed (value redacted)" in str(error)
        assert "hunter2-inline" not in str(error)

    @pytest.mark.parametrize(
        ("table", "where"),
        [
            pytest.param("[notify]", "notify", id="global"),
            pytest.param("[sources.notify]", "sources[0].notify", id="per-source"),
        ],
    )
    @pytest.mark.parametrize("key", ["webhook_url", "slack_webhook_url", "healthchecks_url"])
    def test_load_inline_notify_url_is_refused_and_its_value_redacted(
        self, write_config: Callable[[str], Path], table: str, where: str, key: str
    ) -> None:
        error = _error(write_config(SOURCE + f'{table}\n{key} = "https://hooks.example/T0K3N-inline"\n'))

        assert error.key == f"{where}.{key}"
        assert "inline URLs are not allowed" in str(error)
        assert f"{key}_env/{key}_file" in str(error)
        assert "T0K3N-inline" not in str(error)

    def test_load_invalid_toml_names_file_and_line(self, write_config: Callable[[str], Path]) -> None:
        path = write_config("[[sources]\nname = 1\n")

        error = _error(path)

        assert error.key == str(path) and "invalid TOML" in str(error) and "line 1" in str(error)

    def test_load_missing_cli_file_names_flag(self) -> None:
        error = _error(Path("/nonexistent/fetcher.toml"))

        assert error.key == "--config" and "no such file" in str(error)

    def test_load_missing_fetcher_config_file_names_variable(self) -> None:
        error = _error(None, {"FETCHER_CONFIG": "/nonexistent/x.toml"})

        assert error.key == "FETCHER_CONFIG"

    def test_load_nothing_configured_says_how_to_configure(self) -> None:
        error = _error(None, {})

        assert (
            error.key == "FETCH_URL"
            and "mount a TOML file at" in str(error)
            and "set FETCH_URL" in str(error)
        )

    @pytest.mark.parametrize(
        ("env", "key", "words"),
        [
            pytest.param({"FETCH_SCHEDULE": "every hour"}, "FETCH_SCHEDULE", "has 2 fields", id="schedule"),
            pytest.param({"FETCH_NAME": "My API"}, "FETCH_NAME", "is not allowed", id="name"),
            pytest.param(
                {"FETCH_FORMATS": "parquet,xlsx"}, "FETCH_FORMATS", '"xlsx" is not one of', id="formats"
            ),
            pytest.param({"FETCH_PARAMS": "novalue"}, "FETCH_PARAMS", "is not a query string", id="params"),
            pytest.param(
                {"FETCH_BEARER_TOKEN": "a", "FETCH_BEARER_TOKEN_FILE": "/x"},
                "FETCH_BEARER_TOKEN",
                "not both",
                id="two-tokens",
            ),
        ],
    )
    def test_load_bad_environment_names_variable(self, env: dict[str, str], key: str, words: str) -> None:
        error = _error(None, {"FETCH_URL": "http://h/x", **env})

        assert error.key == key and words in str(error)


class TestS3Output:
    def test_load_s3_output_with_endpoint_key(self, write_config: Callable[[str], Path]) -> None:
        path = write_config(
            'output_dir = "s3://lake/raw/api"\ns3_endpoint_url = "http://127.0.0.1:9000"\n' + SOURCE
        )

        settings = config.load(str(path), {"AWS_ENDPOINT_URL_S3": "http://ignored:1"})

        assert (settings.output_dir, settings.s3_endpoint_url) == (
            "s3://lake/raw/api",
            "http://127.0.0.1:9000",
        )

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            (
                {"AWS_ENDPOINT_URL_S3": "http://s3.local:9000", "AWS_ENDPOINT_URL": "http://other"},
                "http://s3.local:9000",
            ),
            ({"AWS_ENDPOINT_URL": "https://minio.example.com"}, "https://minio.example.com"),
            ({}, None),
        ],
    )
    def test_load_s3_endpoint_from_standard_aws_variables(
        self, write_config: Callable[[str], Path], env: dict[str, str], expected: str | None
    ) -> None:
        settings = config.load(str(write_config('output_dir = "s3://lake"\n' + SOURCE)), env)

        assert settings.s3_endpoint_url == expected

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            pytest.param('output_dir = "s3://"\n', "output_dir", "is not s3://bucket", id="no-bucket"),
            pytest.param('output_dir = "s3://b/../x"\n', "output_dir", "is not s3://bucket", id="traversal"),
            pytest.param(
                'output_dir = "s3://b"\ns3_endpoint_url = "minio:9000"\n',
                "s3_endpoint_url",
                "not an http:// or https:// URL",
                id="endpoint-without-scheme",
            ),
            pytest.param(
                'output_dir = "/out"\ns3_endpoint_url = "http://h"\n',
                "s3_endpoint_url",
                "only when output_dir is s3://",
                id="endpoint-without-s3",
            ),
        ],
    )
    def test_load_bad_s3_settings(
        self, write_config: Callable[[str], Path], text: str, key: str, words: str
    ) -> None:
        error = _error(write_config(text + SOURCE))

        assert error.key == key and words in str(error)


def test_load_reads_no_secret(write_config: Callable[[str], Path]) -> None:
    path = write_config(SOURCE + '[sources.auth]\ntype = "bearer"\ntoken_env = "UNSET_VAR"\n')

    assert config.load(str(path), {}).sources[0].auth == Bearer(token_env="UNSET_VAR")


def test_load_imports_no_heavy_module() -> None:
    probe = (
        "import sys, fetcher.config.load; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'requests', 'pandas')))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert result.stdout.strip() == "[]"


def test_load_origin_is_filled_in_never_a_key(write_config: Callable[[str], Path]) -> None:
    path = write_config('origin = "elsewhere"\n' + SOURCE)

    with pytest.raises(ConfigError) as caught:
        config.load(str(path), {})

    assert caught.value.key == "origin"
    assert caught.value.problem.startswith("unknown key; allowed: output_dir, s3_endpoint_url, sources")
    assert config.load(str(write_config(SOURCE)), {}).origin == str(path)


class TestGraphQLType:
    """`type = "graphql"` with `query` and `variables` on the source: the `[sources.graphql]` table."""

    def test_type_graphql_is_the_graphql_table(self, write_config: Callable[[str], Path]) -> None:
        short = config.load(
            str(
                write_config(SOURCE + 'type = "graphql"\nquery = "{ users { id } }"\nvariables = { n = 1 }\n')
            ),
            {},
        ).sources[0]
        table = config.load(
            str(
                write_config(
                    SOURCE + '[sources.graphql]\nquery = "{ users { id } }"\nvariables = { n = 1 }\n'
                )
            ),
            {},
        ).sources[0]

        assert short.graphql == table.graphql
        assert short.graphql is not None and short.graphql.payload() == {
            "query": "{ users { id } }",
            "variables": {"n": 1},
        }

    @pytest.mark.parametrize(
        ("extra", "key", "words"),
        [
            pytest.param(
                'type = "soap"\n', "sources[0].type", '"soap" is not one of: http, graphql', id="type"
            ),
            pytest.param('query = "{ a }"\n', "sources[0].query", 'add type = "graphql"', id="query-alone"),
            pytest.param('type = "graphql"\n', "sources[0].query", "is required", id="no-query"),
            pytest.param(
                'type = "graphql"\nquery = "{ a }"\n[sources.graphql]\nquery = "{ b }"\n',
                "sources[0].graphql",
                "or this table",
                id="both",
            ),
        ],
    )
    def test_bad_graphql_type_names_the_key(
        self, write_config: Callable[[str], Path], extra: str, key: str, words: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            config.load(str(write_config(SOURCE + extra)), {})

        assert caught.value.key == key and words in caught.value.problem
