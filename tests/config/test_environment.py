"""Environment variables: each parsed into a typed value, each bad value a ConfigError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fetcher.config import environment
from fetcher.config.environment import LogSettings, Startup
from fetcher.errors import ConfigError


class TestLogSettings:
    def test_log_settings_default_to_info_and_ten_megabytes(self) -> None:
        assert environment.log_settings({}) == LogSettings("INFO", 10 * 1024 * 1024)

    def test_log_settings_read_both_variables_any_case(self) -> None:
        env = {"FETCHER_LOG_LEVEL": "debug", "FETCHER_LOG_MAX_BYTES": "600"}

        assert environment.log_settings(env) == LogSettings("DEBUG", 600)

    def test_log_settings_flag_wins_over_variable(self) -> None:
        assert environment.log_settings({"FETCHER_LOG_LEVEL": "verbose"}, "ERROR").level == "ERROR"

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            (
                {"FETCHER_LOG_LEVEL": "verbose"},
                "FETCHER_LOG_LEVEL: 'VERBOSE' is not DEBUG, INFO, WARNING, ERROR",
            ),
            ({"FETCHER_LOG_MAX_BYTES": "10M"}, "FETCHER_LOG_MAX_BYTES: '10M' is not a number of bytes"),
        ],
    )
    def test_log_settings_bad_value_names_variable(self, env: dict[str, str], message: str) -> None:
        with pytest.raises(ConfigError) as caught:
            environment.log_settings(env)

        assert str(caught.value) == message


class TestStartup:
    def test_startup_defaults(self) -> None:
        assert environment.startup({}) == Startup(uid=None, gid=None, zone="", on_start="missed")

    def test_startup_reads_every_variable(self) -> None:
        env = {"PUID": "1000", "PGID": "1001", "TZ": ":Europe/Berlin", "FETCH_ON_START": "always"}

        assert environment.startup(env) == Startup(1000, 1001, "Europe/Berlin", "always")

    @pytest.mark.parametrize(
        "env", [{}, {"TZ": "Europe/Berlin"}, {"TZ": ":UTC"}, {"FETCH_ON_START": "never"}]
    )
    def test_startup_accepts_valid(self, env: dict[str, str]) -> None:
        environment.startup(env)

    @pytest.mark.parametrize(
        ("env", "key"),
        [
            ({"TZ": "Mars/Olympus"}, "TZ"),
            ({"TZ": "../../etc/passwd"}, "TZ"),
            ({"FETCH_ON_START": "yes"}, "FETCH_ON_START"),
            ({"PUID": "ann"}, "PUID"),
            ({"PGID": "-1"}, "PGID"),
        ],
    )
    def test_startup_refuses_unknown(self, env: dict[str, str], key: str) -> None:
        with pytest.raises(ConfigError) as caught:
            environment.startup(env)

        assert caught.value.key == key

    def test_startup_messages_name_value_and_allowed(self) -> None:
        with pytest.raises(ConfigError, match="FETCH_ON_START: 'sometimes' is not one of: missed, always"):
            environment.startup({"FETCH_ON_START": "sometimes"})
        with pytest.raises(ConfigError, match="TZ: 'Nowhere/Land' is not a known time zone"):
            environment.startup({"TZ": "Nowhere/Land"})


def test_zone_name_strips_glibc_colon() -> None:
    assert environment.zone_name({"TZ": ":Europe/Berlin"}) == "Europe/Berlin"
    assert environment.zone_name({}) == ""


def test_zone_name_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")

    assert environment.zone_name() == "Asia/Tokyo"


def test_config_path_empty_is_unset() -> None:
    assert environment.config_path({"FETCHER_CONFIG": ""}) is None
    assert environment.config_path({"FETCHER_CONFIG": "/x.toml"}) == "/x.toml"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AWS_ENDPOINT_URL_S3": "http://s3:9000", "AWS_ENDPOINT_URL": "http://other"}, "http://s3:9000"),
        ({"AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": "http://other"}, "http://other"),
        ({}, None),
    ],
)
def test_s3_endpoint_url_prefers_the_s3_variable(env: dict[str, str], expected: str | None) -> None:
    assert environment.s3_endpoint_url(env) == expected


class TestFetchDocument:
    def test_fetch_document_without_url_is_none(self) -> None:
        assert environment.fetch_document({"FETCH_NAME": "x"}) is None

    def test_fetch_document_is_a_file_with_one_source(self) -> None:
        document = environment.fetch_document(
            {
                "FETCH_URL": "http://h/x",
                "FETCH_FORMATS": "csv, parquet",
                "FETCH_PARAMS": "a=1&b=two",
                "FETCH_BEARER_TOKEN": "t0k",
                "FETCH_OUTPUT_DIR": "/data",
            }
        )

        assert document == {
            "output_dir": "/data",
            "sources": [
                {
                    "name": "api",
                    "url": "http://h/x",
                    "formats": ["csv", "parquet"],
                    "params": {"a": "1", "b": "two"},
                    "auth": {"type": "bearer", "token_env": "FETCH_BEARER_TOKEN"},
                }
            ],
        }

    def test_fetch_document_never_holds_the_token(self) -> None:
        document = environment.fetch_document({"FETCH_URL": "http://h/x", "FETCH_BEARER_TOKEN": "t0k"})

        assert "t0k" not in repr(document)


def test_name_variable_names_the_variable_behind_a_key() -> None:
    renamed = environment.name_variable(ConfigError("sources[0].schedule", "bad"))

    assert (renamed.key, renamed.problem) == ("FETCH_SCHEDULE", "bad")
    assert environment.name_variable(ConfigError("sources[0].retry", "x")).key == "sources[0].retry"


@pytest.mark.parametrize(
    ("environ", "inside"),
    [
        pytest.param({"FETCHER_IN_CONTAINER": "1"}, True, id="the-image-sets-it"),
        pytest.param({}, False, id="unset"),
        pytest.param({"FETCHER_IN_CONTAINER": "0"}, False, id="zero"),
    ],
)
def test_in_container_is_what_the_image_says(environ: dict[str, str], inside: bool) -> None:
    assert environment.in_container(environ) is inside


def test_the_image_says_it_is_a_container() -> None:
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()

    assert f"{environment.IN_CONTAINER}=1" in dockerfile
