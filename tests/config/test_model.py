"""The model: the checks types cannot express, each a one-line ConfigError naming key and value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.config.guards import GUARD_NAMES
from fetcher.config.load import load
from fetcher.config.model import Config, Source
from fetcher.config.signals import Metrics, Notify
from fetcher.errors import EXIT_CONFIG, ConfigError
from fetcher.http.auth import Bearer
from fetcher.http.graphql import GraphQL
from fetcher.pagination.kinds import PageNumber
from fetcher.records.rules import ColumnRules

SOURCE = '[[sources]]\nname = "a"\nurl = "http://h/x"\n'


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(str(path), {})
    assert caught.value.exit_code == EXIT_CONFIG
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        pytest.param(
            SOURCE + "timeout_s = 0\n",
            "sources[0].timeout_s",
            "must be greater than 0",
            id="zero-timeout",
        ),
        pytest.param(
            SOURCE + "[sources.retry]\nmax_attempts = 0\n",
            "sources[0].retry.max_attempts",
            "greater than 0",
            id="zero-attempts",
        ),
        pytest.param(
            SOURCE + "[sources.retry]\nmax_wait_s = -1\n",
            "sources[0].retry.max_wait_s",
            "0 or more",
            id="negative-wait",
        ),
        pytest.param(
            '[[sources]]\nname = "Bad Name"\nurl = "http://h/x"\n',
            "sources[0].name",
            '"Bad Name" is not allowed',
            id="bad-name",
        ),
        pytest.param(
            '[[sources]]\nname = "../etc"\nurl = "http://h/x"\n',
            "sources[0].name",
            "is not allowed",
            id="traversal-name",
        ),
        pytest.param(
            '[[sources]]\nname = "a"\nurl = "ftp://h/x"\n',
            "sources[0].url",
            "not an http:// or https:// URL",
            id="bad-url",
        ),
        pytest.param(
            '[[sources]]\nname = "a"\nurl = "https://u:pw@h/x"\n',
            "sources[0].url",
            "credentials in the URL",
            id="url-credentials",
        ),
        pytest.param(
            SOURCE + 'method = "PUT"\n',
            "sources[0].method",
            '"PUT" is not one of: GET, POST',
            id="bad-method",
        ),
        pytest.param(
            SOURCE + "body = { a = 1 }\n", "sources[0].body", "only with method", id="body-with-get"
        ),
        pytest.param(
            SOURCE + 'formats = ["json"]\n',
            "sources[0].formats",
            '"json" is not one of: parquet, csv',
            id="bad-format",
        ),
        pytest.param(SOURCE + "formats = []\n", "sources[0].formats", "non-empty subset", id="no-formats"),
        pytest.param(
            SOURCE + 'formats = ["csv", "csv"]\n',
            "sources[0].formats",
            "non-empty subset",
            id="duplicate-format",
        ),
        pytest.param(
            SOURCE + 'schedule = "61 * * * *"\n',
            "sources[0].schedule",
            '"61 * * * *" bad minute',
            id="bad-cron-range",
        ),
        pytest.param(
            SOURCE + 'schedule = "@hourly"\n',
            "sources[0].schedule",
            "has 1 fields, cron needs 5",
            id="cron-macro",
        ),
        pytest.param(
            SOURCE + 'schedule = "0 L * * *"\n',
            "sources[0].schedule",
            "bad hour field",
            id="cron-extension",
        ),
        pytest.param(
            SOURCE + '[sources.pagination]\ntype = "page"\nsize_param = "n"\n',
            "sources[0].pagination.size",
            "is required with size_param",
            id="size-param-without-size",
        ),
        pytest.param(
            SOURCE + '[sources.pagination]\ntype = "offset"\nlimit = 0\n',
            "sources[0].pagination.limit",
            "greater than 0",
            id="zero-limit",
        ),
        pytest.param(
            SOURCE + '[sources.pagination]\ntype = "page"\nmax_pages = 0\n',
            "sources[0].pagination.max_pages",
            "greater than 0",
            id="zero-max-pages",
        ),
        pytest.param(
            SOURCE + '[sources.auth]\ntype = "bearer"\n',
            "sources[0].auth",
            "set exactly one of token_env and token_file",
            id="bearer-without-secret",
        ),
        pytest.param(
            SOURCE + '[sources.auth]\ntype = "api_key"\ntoken_env = "SET"\nheader = "X"\nquery = "k"\n',
            "sources[0].auth.query",
            "not both",
            id="api-key-header-and-query",
        ),
        pytest.param(
            SOURCE + '[sources.incremental]\ncursor_field = ""\nparam = "since"\n',
            "sources[0].incremental.cursor_field",
            "must not be empty",
            id="incremental-empty-field",
        ),
        pytest.param(
            SOURCE + "[sources.guards]\nmin_records = 0\n",
            "sources[0].guards.min_records",
            "must be greater than 0",
            id="guard-min-records-zero",
        ),
        pytest.param(
            SOURCE + "[sources.guards]\nmax_drop_pct = 100\n",
            "sources[0].guards.max_drop_pct",
            "less than 100",
            id="guard-drop-100",
        ),
        pytest.param(
            SOURCE + "[sources.guards]\nhistory_runs = 0\n",
            "sources[0].guards.history_runs",
            "must be greater than 0",
            id="guard-history-runs-zero",
        ),
        pytest.param(
            SOURCE + "[sources.guards]\nstale_cursor_runs = 3\n",
            "sources[0].guards.stale_cursor_runs",
            "add [sources.incremental]",
            id="guard-stale-cursor-needs-incremental",
        ),
        pytest.param(
            SOURCE + '[sources.guards]\naction = "ignore"\n',
            "sources[0].guards.action",
            '"ignore"',
            id="guard-bad-action",
        ),
        pytest.param(
            SOURCE + '[sources.guards.actions]\nmin_record = "warn"\n',
            "sources[0].guards.actions.min_record",
            "unknown key",
            id="guard-unknown-guard-in-actions",
        ),
        pytest.param(
            "report_runs = 0\n" + SOURCE, "report_runs", "must be greater than 0", id="report-runs-zero"
        ),
        pytest.param(
            'lock = "dynamo"\n' + SOURCE, "lock", '"dynamo" is not one of: local, s3', id="unknown-lock"
        ),
        pytest.param(
            'lock = "s3"\n' + SOURCE, "lock", "output_dir must be s3://", id="s3-lock-on-a-directory"
        ),
        pytest.param(
            'output_dir = "s3://lake"\nlock = "s3"\nlease_s = 5\n' + SOURCE,
            "lease_s",
            "5 must be at least 15 (seconds)",
            id="lease-too-short",
        ),
        pytest.param(SOURCE + SOURCE, "sources", '"a" is used twice', id="duplicate-name"),
        pytest.param('output_dir = ""\n' + SOURCE, "output_dir", "must not be empty", id="empty-output-dir"),
    ],
)
def test_check_bad_value_names_key_value_and_allowed(
    write_config: Callable[[str], Path], text: str, key: str, words: str
) -> None:
    error = _error(write_config(text))

    assert error.key == key
    assert words in str(error)
    assert str(error).startswith(f"{key}: ")


def test_check_runs_each_kinds_own_check() -> None:
    source = Source(name="a", url="http://h/x", auth=Bearer())

    with pytest.raises(ConfigError) as caught:
        Config(output_dir="/out", sources=(source,), origin="test").check()

    assert caught.value.key == "sources[0].auth"


def test_source_max_response_bytes_is_megabytes() -> None:
    assert Source(name="a", url="http://h/x", max_response_mb=1.5).max_response_bytes == 1572864


def test_select_unknown_source_lists_configured(write_config: Callable[[str], Path]) -> None:
    settings = load(str(write_config(SOURCE)), {})

    with pytest.raises(ConfigError, match='"b" is not a configured source; have: a'):
        settings.select("b")


class TestColumnSettings:
    """The keys that decide how records land: format, names, declared types, exclude."""

    def test_column_keys_build_the_sources_rules(self, write_config: Callable[[str], Path]) -> None:
        text = SOURCE + (
            'format = "ndjson"\nflatten_separator = "_"\ncolumn_names = "snake_case"\ninfer_types = false\n'
            'exclude = ["customer.email"]\n[sources.columns]\nprice = "decimal(12,2)"\n'
        )

        source = load(str(write_config(text)), {}).sources[0]

        assert source.format == "ndjson"
        assert source.rules == ColumnRules(
            flatten_separator="_",
            column_names="snake_case",
            infer_types=False,
            columns={"price": "decimal(12,2)"},
            exclude=("customer.email",),
        )

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            pytest.param('format = "xml"\n', "sources[0].format", '"xml" is not one of: auto, json, ndjson'),
            pytest.param('column_names = "camel"\n', "sources[0].column_names", "is not one of: as_is"),
            pytest.param('flatten_separator = ""\n', "sources[0].flatten_separator", "non-empty"),
            pytest.param(
                '[sources.columns]\nprice = "money"\n', "sources[0].columns.price", "unknown type 'money'"
            ),
            pytest.param(
                '[sources.columns]\nprice = "decimal(40,2)"\n',
                "sources[0].columns.price",
                "not within 1 to 38",
            ),
            pytest.param('exclude = ["a..b"]\n', "sources[0].exclude", "has an empty key"),
            pytest.param(
                'format = "ndjson"\n[sources.pagination]\ntype = "cursor"\ncursor_path = "next"\n'
                'cursor_param = "c"\n',
                "sources[0].pagination.cursor_path",
                "an NDJSON body is a list of records",
            ),
            pytest.param(
                'format = "ndjson"\n[sources.pagination]\ntype = "offset"\ntotal_path = "total"\n',
                "sources[0].pagination.total_path",
                "an NDJSON body is a list of records",
            ),
        ],
    )
    def test_bad_column_setting_names_key_and_fix(
        self, write_config: Callable[[str], Path], text: str, key: str, words: str
    ) -> None:
        error = _error(write_config(SOURCE + text))

        assert error.key == key
        assert words in error.problem


class TestNotify:
    """`[notify]` and `[sources.notify]`: receivers named by variable or file, and the events."""

    def test_notify_defaults_to_no_receiver_failure_and_recovery(
        self, write_config: Callable[[str], Path]
    ) -> None:
        config = load(str(write_config(SOURCE)), {})

        assert config.notify == Notify() and config.sources[0].notify is None
        notify = config.notify_of(config.sources[0])
        assert (notify.events, notify.timeout) == (("failure", "recovery"), 5.0)
        assert [notify.variable(key) or notify.file(key) for key in Notify.URL_KEYS] == [None, None, None]
        assert config.metrics == Metrics(textfile_dir=None)

    def test_source_table_is_laid_over_the_global_one_receiver_by_receiver(
        self, write_config: Callable[[str], Path]
    ) -> None:
        config = load(
            str(
                write_config(
                    '[notify]\nwebhook_url_env = "HOOK"\nslack_webhook_url_env = "SLACK"\non = ["failure"]\n'
                    + SOURCE
                    + '[sources.notify]\nwebhook_url_file = "/run/secrets/hook"\n'
                    + 'healthchecks_url_env = "HC"\n'
                    + '[[sources]]\nname = "b"\nurl = "http://h/y"\n[sources.notify]\non = ["success"]\n'
                    + "timeout_s = 2\n"
                )
            ),
            {},
        )

        own, other = (config.notify_of(source) for source in config.sources)
        assert (own.webhook_url_env, own.webhook_url_file) == (None, "/run/secrets/hook")
        assert (own.slack_webhook_url_env, own.healthchecks_url_env) == ("SLACK", "HC")
        assert (own.events, own.timeout) == (("failure",), 5.0)
        assert (other.webhook_url_env, other.slack_webhook_url_env, other.healthchecks_url_env) == (
            "HOOK",
            "SLACK",
            None,
        )
        assert (other.events, other.timeout) == (("success",), 2.0)

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            pytest.param(
                '[notify]\nwebhook_url_env = "A"\nwebhook_url_file = "/a"\n',
                "notify.webhook_url_env",
                "set webhook_url_env or webhook_url_file, not both",
                id="both-env-and-file",
            ),
            pytest.param(
                '[notify]\non = ["failed"]\n', "notify.on", '"failed" is not one of: failure', id="bad-event"
            ),
            pytest.param(
                '[notify]\non = ["failure", "failure"]\n', "notify.on", "names an event twice", id="twice"
            ),
            pytest.param(
                SOURCE + "[sources.notify]\ntimeout_s = 0\n", "sources[0].notify.timeout_s", "greater than 0"
            ),
            pytest.param(
                '[notify]\nwebhook = "x"\n',
                "notify.webhook",
                "allowed: webhook_url_env, webhook_url_file",
                id="unknown",
            ),
            pytest.param(
                '[metrics]\ntextfile_dir = ""\n', "metrics.textfile_dir", "is not a local directory"
            ),
            pytest.param(
                '[metrics]\ntextfile_dir = "s3://b/p"\n',
                "metrics.textfile_dir",
                "is not a local directory",
                id="s3",
            ),
        ],
    )
    def test_bad_notify_or_metrics_setting_names_key(
        self, write_config: Callable[[str], Path], text: str, key: str, words: str
    ) -> None:
        error = _error(write_config(text if "[[sources]]" in text else text + SOURCE))

        assert error.key == key
        assert words in str(error)

    def test_unknown_notify_key_hides_the_resolved_url_fields(
        self, write_config: Callable[[str], Path]
    ) -> None:
        error = _error(write_config('[notify]\nwebhook = "x"\n' + SOURCE))

        allowed = str(error).split("allowed: ")[1].split("; ")[0].split(", ")
        assert {"webhook_url_env", "healthchecks_url_file", "on", "timeout_s"} <= set(allowed)
        assert set(Notify.URL_KEYS).isdisjoint(allowed)

    def test_notify_repr_hides_the_urls(self) -> None:
        notify = Notify(webhook_url_env="HOOK", webhook_url="https://hooks.example/T0K3N")

        assert "T0K3N" not in repr(notify)
        assert "webhook_url_env='HOOK'" in repr(notify)


def test_guards_default_action_applies_unless_a_guard_has_its_own(
    write_config: Callable[[str], Path],
) -> None:
    text = (
        SOURCE + '[sources.guards]\nmin_records = 100\nmax_drop_pct = 50\naction = "warn"\n'
        '[sources.guards.actions]\nmax_drop_pct = "fail"\n'
    )

    guards = load(str(write_config(text)), {}).sources[0].guards

    assert (guards.min_records, guards.max_drop_pct, guards.history_runs) == (100, 50, 7)
    assert [guards.action_of(name) for name in GUARD_NAMES] == ["warn", "fail", "warn"]


def test_guards_are_off_by_default_and_fail_when_set(write_config: Callable[[str], Path]) -> None:
    settings = load(str(write_config(SOURCE)), {})
    guards = settings.sources[0].guards

    assert (guards.min_records, guards.max_drop_pct, guards.stale_cursor_runs) == (None, None, None)
    assert guards.action_of("min_records") == "fail"
    assert settings.report_runs == 30


def test_lock_is_local_by_default_and_s3_takes_a_lease_of_lease_s(
    write_config: Callable[[str], Path],
) -> None:
    default = load(str(write_config(SOURCE)), {})
    leased = load(str(write_config('output_dir = "s3://lake/x"\nlock = "s3"\nlease_s = 90\n' + SOURCE)), {})

    assert (default.lock, default.lease_s) == ("local", 60)
    assert (leased.lock, leased.lease_s) == ("s3", 90)


class TestPagingAndGraphQL:
    """The stop signals, paging values in a POST body, and `[sources.graphql]` sources."""

    def test_paging_keys_load_into_the_kind(self, write_config: Callable[[str], Path]) -> None:
        text = SOURCE + (
            'method = "POST"\n[sources.pagination]\ntype = "page"\nin = "body"\nstop_on_status = [404]\n'
            'repeated_page = "stop"\nhas_more_path = "meta.more"\ntotal_pages_path = "meta.pages"\n'
        )

        source = load(str(write_config(text)), {}).sources[0]

        assert source.pagination == PageNumber(
            in_="body",
            stop_on_status=(404,),
            repeated_page="stop",
            has_more_path="meta.more",
            total_pages_path="meta.pages",
        )

    def test_graphql_source_posts_its_query_and_variables(self, write_config: Callable[[str], Path]) -> None:
        text = SOURCE + (
            'records = "data.users.nodes"\n[sources.graphql]\nquery = "query($after: String) { a }"\n'
            "variables = { first = 50 }\n"
            '[sources.pagination]\ntype = "cursor"\ncursor_path = "data.users.pageInfo.endCursor"\n'
            'cursor_variable = "after"\nhas_more_path = "data.users.pageInfo.hasNextPage"\n'
        )

        source = load(str(write_config(text)), {}).sources[0]

        assert source.graphql == GraphQL(query="query($after: String) { a }", variables={"first": 50})
        assert source.request_body == {"query": "query($after: String) { a }", "variables": {"first": 50}}

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            pytest.param(
                '[sources.pagination]\ntype = "offset"\nin = "body"\n',
                "sources[0].pagination.in",
                'paging values go in a body only with method = "POST"',
                id="body-paging-with-get",
            ),
            pytest.param(
                '[sources.pagination]\ntype = "page"\nin = "header"\n',
                "sources[0].pagination.in",
                '"header" is not one of',
                id="bad-in",
            ),
            pytest.param(
                '[sources.pagination]\ntype = "page"\nrepeated_page = "skip"\n',
                "sources[0].pagination.repeated_page",
                '"skip" is not one of',
                id="bad-repeated-page",
            ),
            pytest.param(
                '[sources.pagination]\ntype = "page"\nstop_on_status = [500]\n',
                "sources[0].pagination.stop_on_status",
                "500 is not a 4xx status other than 429",
                id="stop-on-5xx",
            ),
            pytest.param(
                '[sources.pagination]\ntype = "cursor"\ncursor_path = "n"\ncursor_variable = "after"\n',
                "sources[0].pagination.cursor_variable",
                "is for a [sources.graphql] source",
                id="cursor-variable-without-graphql",
            ),
            pytest.param(
                '[sources.graphql]\nquery = " "\n',
                "sources[0].graphql.query",
                "must not be empty",
                id="empty-query",
            ),
            pytest.param(
                'method = "POST"\nbody = { a = 1 }\n[sources.graphql]\nquery = "{ a }"\n',
                "sources[0].body",
                "a GraphQL source's body is its graphql query and variables",
                id="graphql-with-body",
            ),
            pytest.param(
                '[sources.graphql]\nquery = "{ a }"\n[sources.pagination]\ntype = "page"\n',
                "sources[0].pagination.type",
                'a GraphQL source pages by "cursor" with cursor_variable',
                id="graphql-page-paging",
            ),
            pytest.param(
                '[sources.graphql]\nquery = "{ a }"\n[sources.pagination]\ntype = "cursor"\n'
                'cursor_path = "n"\ncursor_param = "after"\n',
                "sources[0].pagination.type",
                'a GraphQL source pages by "cursor" with cursor_variable',
                id="graphql-cursor-in-query",
            ),
            pytest.param(
                'format = "ndjson"\n[sources.pagination]\ntype = "page"\nhas_more_path = "more"\n',
                "sources[0].pagination.has_more_path",
                "an NDJSON body is a list of records",
                id="ndjson-has-more",
            ),
        ],
    )
    def test_bad_paging_setting_names_key_and_fix(
        self, write_config: Callable[[str], Path], text: str, key: str, words: str
    ) -> None:
        error = _error(write_config(SOURCE + text))

        assert error.key == key
        assert words in str(error)
