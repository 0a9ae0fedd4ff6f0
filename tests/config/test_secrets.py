"""Secrets: each auth kind's secret read from its variable or file, or a ConfigError naming the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.config import secrets
from fetcher.config.load import load
from fetcher.config.model import Config
from fetcher.errors import EXIT_CONFIG, ConfigError
from fetcher.http.auth import ApiKey, Basic, Bearer

SOURCE = '[[sources]]\nname = "a"\nurl = "http://h/x"\n'


def _resolve(path: Path | None, env: dict[str, str]) -> Config:
    return secrets.resolve(load(str(path) if path else None, env), env)


def _error(path: Path | None, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _resolve(path, env or {})
    assert caught.value.exit_code == EXIT_CONFIG
    assert "\n" not in str(caught.value)
    return caught.value


def test_resolve_reads_token_from_environment(write_config: Callable[[str], Path]) -> None:
    path = write_config(SOURCE + '[sources.auth]\ntype = "bearer"\ntoken_env = "ORDERS_TOKEN"\n')

    auth = _resolve(path, {"ORDERS_TOKEN": "tok-123"}).sources[0].auth

    assert isinstance(auth, Bearer) and auth.secret == "tok-123"


def test_resolve_reads_basic_password_file_stripped(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret-pass\n")
    path = write_config(
        SOURCE + f'[sources.auth]\ntype = "basic"\nusername = "ann"\npassword_file = "{secret}"\n'
    )

    auth = _resolve(path, {}).sources[0].auth

    assert isinstance(auth, Basic) and (auth.username, auth.secret) == ("ann", "s3cret-pass")
    assert "s3cret-pass" not in repr(auth)


def test_resolve_keeps_every_other_setting(write_config: Callable[[str], Path]) -> None:
    path = write_config(SOURCE + '[sources.auth]\ntype = "api_key"\ntoken_env = "K"\nquery = "appid"\n')
    loaded = load(str(path), {})

    resolved = secrets.resolve(loaded, {"K": "key-999"})

    assert resolved.sources[0].auth == ApiKey(token_env="K", query="appid", secret="key-999")
    assert loaded.sources[0].auth.secret == ""  # the loaded configuration is left as it was
    assert (resolved.output_dir, resolved.origin) == (loaded.output_dir, loaded.origin)


def test_resolve_environment_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")

    settings = _resolve(None, {"FETCH_URL": "http://h/x", "FETCH_BEARER_TOKEN_FILE": str(token_file)})

    assert isinstance(settings.sources[0].auth, Bearer) and settings.sources[0].auth.secret == "file-token"


def test_resolve_environment_token() -> None:
    settings = _resolve(None, {"FETCH_URL": "http://h/x", "FETCH_BEARER_TOKEN": "t0k"})

    assert settings.sources[0].auth.secret == "t0k"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        pytest.param(
            SOURCE + '[sources.auth]\ntype = "bearer"\ntoken_env = "UNSET_VAR"\n',
            "sources[0].auth.token_env",
            "environment variable UNSET_VAR is not set",
            id="unset-secret-var",
        ),
        pytest.param(
            SOURCE + '[sources.auth]\ntype = "bearer"\ntoken_file = "/nonexistent/token"\n',
            "sources[0].auth.token_file",
            "cannot read /nonexistent/token",
            id="missing-secret-file",
        ),
    ],
)
def test_resolve_unreadable_secret_names_key(
    write_config: Callable[[str], Path], text: str, key: str, words: str
) -> None:
    error = _error(write_config(text))

    assert error.key == key
    assert words in str(error)
    assert str(error).startswith(f"{key}: ")


def test_resolve_empty_secret_file_is_refused(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    error = _error(
        write_config(SOURCE + f'[sources.auth]\ntype = "bearer"\ntoken_file = "{tmp_path / "empty"}"\n')
    )

    assert error.key == "sources[0].auth.token_file" and "is empty" in str(error)


@pytest.mark.parametrize(
    ("env", "key", "words"),
    [
        pytest.param({"FETCH_BEARER_TOKEN": ""}, "FETCH_BEARER_TOKEN", "is not set", id="empty-token"),
        pytest.param(
            {"FETCH_BEARER_TOKEN_FILE": "/nonexistent"},
            "FETCH_BEARER_TOKEN_FILE",
            "cannot read",
            id="token-file",
        ),
    ],
)
def test_resolve_bad_environment_names_variable(env: dict[str, str], key: str, words: str) -> None:
    error = _error(None, {"FETCH_URL": "http://h/x", **env})

    assert error.key == key and words in str(error)


class TestNotifyUrls:
    """Each notification URL is read from its variable or file, and must be http(s)."""

    def test_resolve_reads_global_and_source_urls(
        self, write_config: Callable[[str], Path], tmp_path: Path
    ) -> None:
        (tmp_path / "hc").write_text("https://hc-ping.com/0f1e-uuid\n")
        path = write_config(
            '[notify]\nwebhook_url_env = "HOOK"\n'
            + SOURCE
            + f'[sources.notify]\nhealthchecks_url_file = "{tmp_path / "hc"}"\n'
        )

        resolved = _resolve(path, {"HOOK": "http://127.0.0.1:9/hook/T0K3N"})

        assert resolved.notify.webhook_url == "http://127.0.0.1:9/hook/T0K3N"
        notify = resolved.notify_of(resolved.sources[0])
        assert (notify.webhook_url, notify.healthchecks_url, notify.slack_webhook_url) == (
            "http://127.0.0.1:9/hook/T0K3N",
            "https://hc-ping.com/0f1e-uuid",
            "",
        )

    @pytest.mark.parametrize(
        ("text", "env", "key", "words"),
        [
            pytest.param(
                '[notify]\nslack_webhook_url_env = "SLACK"\n',
                {},
                "notify.slack_webhook_url_env",
                "environment variable SLACK is not set",
                id="unset",
            ),
            pytest.param(
                '[notify]\nwebhook_url_file = "/nonexistent/hook"\n',
                {},
                "notify.webhook_url_file",
                "cannot read /nonexistent/hook",
                id="missing-file",
            ),
            pytest.param(
                '[notify]\nwebhook_url_env = "HOOK"\n',
                {"HOOK": "hooks.example/T0K3N"},
                "notify.webhook_url_env",
                "is not an http:// or https:// URL (value redacted)",
                id="not-a-url",
            ),
        ],
    )
    def test_resolve_bad_url_names_key_never_the_value(
        self, write_config: Callable[[str], Path], text: str, env: dict[str, str], key: str, words: str
    ) -> None:
        error = _error(write_config(text + SOURCE), env)

        assert error.key == key
        assert words in str(error)
        assert "T0K3N" not in str(error)

    def test_resolve_source_url_names_the_source_key(self, write_config: Callable[[str], Path]) -> None:
        error = _error(write_config(SOURCE + '[sources.notify]\nhealthchecks_url_env = "HC"\n'))

        assert error.key == "sources[0].notify.healthchecks_url_env"
