"""Loading the configuration: --config, else $FETCHER_CONFIG, else the default file, else FETCH_*.

Loading converts the file into the typed model (model.py) and checks it; it reads no secret, so
that the result is the same whatever the environment holds (secrets.py reads them next).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from typing import Any

import msgspec

from fetcher.config import environment
from fetcher.config.convert import convert, show
from fetcher.config.model import Config
from fetcher.config.signals import Notify
from fetcher.errors import ConfigError
from fetcher.storage import is_remote

DEFAULT_CONFIG_PATH = "/etc/fetcher/fetcher.toml"
_INLINE_SECRET_KEYS = frozenset({"api_key", "client_secret", "key", "password", "secret", "token"})


def load(path: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load `path`, else $FETCHER_CONFIG, else /etc/fetcher/fetcher.toml, else FETCH_* variables."""
    env = os.environ if environ is None else environ
    if path:
        return _from_file(path, "--config", env)
    named = environment.config_path(env)
    if named:
        return _from_file(named, environment.CONFIG, env)
    if os.path.exists(DEFAULT_CONFIG_PATH):
        return _from_file(DEFAULT_CONFIG_PATH, DEFAULT_CONFIG_PATH, env)
    return _from_environment(env)


def _from_file(path: str, named_by: str, env: Mapping[str, str]) -> Config:
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(named_by, f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(named_by, f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"invalid TOML: {exc}") from None
    return _config(document, path, env)


def _from_environment(env: Mapping[str, str]) -> Config:
    try:
        document = environment.fetch_document(env)
        if document is None:
            raise ConfigError(
                environment.FETCH_URL,
                f"no configuration: mount a TOML file at {DEFAULT_CONFIG_PATH}, "
                "pass --config, set FETCHER_CONFIG, or set FETCH_URL",
            )
        return _config(document, environment.FROM_ENVIRONMENT, env)
    except ConfigError as exc:
        raise environment.name_variable(exc) from None


def _config(document: dict[str, Any], origin: str, env: Mapping[str, str]) -> Config:
    tables = document.get("sources")
    if not isinstance(tables, list) or not tables:
        raise ConfigError("sources", "define at least one [[sources]] table")
    _refuse_inline_urls(document.get("notify"), "notify")
    sources = []
    for index, table in enumerate(tables):
        _refuse_inline_secrets(table, f"sources[{index}]")
        sources.append(_shorthand(table, f"sources[{index}]"))
    if "origin" in document:  # the one field the program fills in, never a key
        raise ConfigError("origin", f"unknown key; allowed: {', '.join(_top_level_keys())}")
    file = convert({**document, "sources": sources}, Config)
    endpoint = None
    if is_remote(file.output_dir):
        endpoint = file.s3_endpoint_url or environment.s3_endpoint_url(env)
    elif file.s3_endpoint_url is not None:
        raise ConfigError("s3_endpoint_url", "applies only when output_dir is s3://bucket/prefix")
    config = msgspec.structs.replace(file, origin=origin, s3_endpoint_url=endpoint)
    config.check()
    return config


def _top_level_keys() -> list[str]:
    return [
        info.encode_name for info in msgspec.structs.fields(Config) if info.name not in Config.resolved_fields
    ]


def _shorthand(table: Any, where: str) -> Any:
    """Expand what a file may write short: one format, one primary key, scalar params, no paging."""
    if not isinstance(table, dict):
        return table
    table = dict(table)
    if isinstance(table.get("formats"), str):
        table["formats"] = [table["formats"]]
    if isinstance(table.get("params"), dict):
        table["params"] = {
            name: _text(value, f"{where}.params.{name}") for name, value in table["params"].items()
        }
    if isinstance(table.get("pagination"), dict):
        table["pagination"] = {"type": "none", **table["pagination"]}
    _graphql_type(table, where)
    if isinstance(table.get("incremental"), dict) and isinstance(
        table["incremental"].get("primary_key"), str
    ):
        table["incremental"] = {**table["incremental"], "primary_key": [table["incremental"]["primary_key"]]}
    return table


SOURCE_TYPES = ("http", "graphql")


def _graphql_type(table: dict[str, Any], where: str) -> None:
    """`type = "graphql"` with `query` and `variables` on the source is its `[sources.graphql]` table."""
    kind = table.pop("type", "http")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}.type", f"{show(kind)} is not one of: {', '.join(SOURCE_TYPES)}")
    if kind == "http":
        for key in ("query", "variables"):
            if key in table:
                raise ConfigError(f"{where}.{key}", 'is for a GraphQL source: add type = "graphql"')
        return
    if "graphql" in table:
        raise ConfigError(f"{where}.graphql", 'set type = "graphql" with query and variables, or this table')
    if "query" not in table:
        raise ConfigError(f"{where}.query", 'is required with type = "graphql"')
    table["graphql"] = {key: table.pop(key) for key in ("query", "variables") if key in table}


def _refuse_inline_secrets(table: Any, where: str) -> None:
    """Refuse a secret written in the file, before its value can show in any other error."""
    auth = table.get("auth") if isinstance(table, dict) else None
    for key in sorted(_INLINE_SECRET_KEYS & set(auth if isinstance(auth, dict) else ())):
        raise ConfigError(
            f"{where}.auth.{key}",
            "inline secrets are not allowed (value redacted); "
            "name an environment variable or a file instead (token_env/token_file, "
            "password_env/password_file, client_secret_env/client_secret_file)",
        )
    _refuse_inline_urls(table.get("notify") if isinstance(table, dict) else None, f"{where}.notify")


def _refuse_inline_urls(notify: Any, where: str) -> None:
    """Refuse a notification URL written in the file: it carries its receiver's secret."""
    for key in sorted(set(Notify.URL_KEYS) & set(notify if isinstance(notify, dict) else ())):
        raise ConfigError(
            f"{where}.{key}",
            "inline URLs are not allowed: they are secrets (value redacted); "
            f"name an environment variable or a file instead ({key}_env/{key}_file)",
        )


def _text(value: Any, key: str) -> str:
    """A param as sent in the query: numbers as written, booleans as `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(key, f"{show(value)} is not a string, number or boolean")
