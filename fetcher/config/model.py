"""Configuration: a TOML file, or FETCH_* variables, parsed once into frozen, validated values.

Every later module receives these typed values, never raw tables or FETCH_* variables (the
libraries read their own: TZ for the zone, the AWS chain for S3 credentials and region). A bad
value raises ConfigError naming the key, the value (redacted if secret) and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fetcher import redact
from fetcher.config import schedule, tables
from fetcher.errors import ConfigError
from fetcher.http.auth import AUTH_KINDS, Auth
from fetcher.pagination.kinds import PAGINATORS, NoPagination, Paginator
from fetcher.storage import check_output_dir, is_remote

DEFAULT_CONFIG_PATH = "/etc/fetcher/fetcher.toml"
DEFAULT_OUTPUT_DIR = "/out"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
FORMATS = ("parquet", "csv")
METHODS = ("GET", "POST")
_INLINE_SECRET_KEYS = frozenset({"api_key", "key", "password", "secret", "token"})


@dataclass(frozen=True)
class Retry:
    """`[sources.retry]`: attempts per request and the cap on any single wait."""

    max_attempts: int = 5
    max_wait_s: float = 60.0


@dataclass(frozen=True)
class Incremental:
    """`[sources.incremental]`: fetch only what is new since the largest `cursor_field` seen."""

    cursor_field: str
    param: str
    initial: str | int | float | None = None
    primary_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """`[[sources]]`: one API endpoint and how to fetch, page through and write it."""

    name: str
    url: str
    method: str = "GET"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    records: str = ""
    formats: tuple[str, ...] = FORMATS
    schedule: str = schedule.DEFAULT_SCHEDULE
    timeout_s: float = 30.0
    run_timeout_s: float = 3000.0
    max_response_mb: float = 256.0
    retry: Retry = Retry()
    pagination: Paginator = field(default_factory=NoPagination)
    auth: Auth | None = None
    incremental: Incremental | None = None

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1024 * 1024)


@dataclass(frozen=True)
class Config:
    """The whole configuration: where output goes, and the sources.

    `s3_endpoint_url` is for S3-compatible stores: the `s3_endpoint_url` key, else the standard
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL variable; None means AWS itself.
    """

    output_dir: str
    sources: tuple[Source, ...]
    origin: str
    s3_endpoint_url: str | None = None

    def select(self, name: str | None) -> tuple[Source, ...]:
        """All sources, or the one called `name`."""
        if name is None:
            return self.sources
        for source in self.sources:
            if source.name == name:
                return (source,)
        names = ", ".join(source.name for source in self.sources)
        raise ConfigError("--source", f"{tables.show(name)} is not a configured source; have: {names}")


def load(path: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load `path`, else $FETCHER_CONFIG, else /etc/fetcher/fetcher.toml, else FETCH_* variables."""
    env = os.environ if environ is None else environ
    if path:
        return _from_file(path, "--config", env)
    if env.get("FETCHER_CONFIG"):
        return _from_file(env["FETCHER_CONFIG"], "FETCHER_CONFIG", env)
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


# FETCH_* variables and the keys they stand for; errors name the variable, not the key.
_ENV_KEYS = {
    "sources[0].url": "FETCH_URL",
    "sources[0].name": "FETCH_NAME",
    "sources[0].records": "FETCH_RECORDS",
    "sources[0].formats": "FETCH_FORMATS",
    "sources[0].schedule": "FETCH_SCHEDULE",
    "sources[0].params": "FETCH_PARAMS",
    "sources[0].auth.token_env": "FETCH_BEARER_TOKEN",
    "sources[0].auth.token_file": "FETCH_BEARER_TOKEN_FILE",
    "output_dir": "FETCH_OUTPUT_DIR",
}


def _from_environment(env: Mapping[str, str]) -> Config:
    if not env.get("FETCH_URL"):
        raise ConfigError(
            "FETCH_URL",
            f"no configuration: mount a TOML file at {DEFAULT_CONFIG_PATH}, "
            "pass --config, set FETCHER_CONFIG, or set FETCH_URL",
        )
    source: dict[str, Any] = {"name": env.get("FETCH_NAME", "api"), "url": env["FETCH_URL"]}
    if "FETCH_RECORDS" in env:
        source["records"] = env["FETCH_RECORDS"]
    if "FETCH_FORMATS" in env:
        source["formats"] = [part.strip() for part in env["FETCH_FORMATS"].split(",")]
    if "FETCH_SCHEDULE" in env:
        source["schedule"] = env["FETCH_SCHEDULE"]
    if env.get("FETCH_PARAMS"):
        try:
            source["params"] = dict(parse_qsl(env["FETCH_PARAMS"], strict_parsing=True))
        except ValueError:
            raise ConfigError(
                "FETCH_PARAMS", f"{tables.show(env['FETCH_PARAMS'])} is not a query string like a=1&b=2"
            ) from None
    token, token_file = env.get("FETCH_BEARER_TOKEN"), env.get("FETCH_BEARER_TOKEN_FILE")
    if token is not None and token_file is not None:
        raise ConfigError("FETCH_BEARER_TOKEN", "set FETCH_BEARER_TOKEN or FETCH_BEARER_TOKEN_FILE, not both")
    if token is not None:
        source["auth"] = {"type": "bearer", "token_env": "FETCH_BEARER_TOKEN"}
    elif token_file is not None:
        source["auth"] = {"type": "bearer", "token_file": token_file}
    document = {"output_dir": env.get("FETCH_OUTPUT_DIR", DEFAULT_OUTPUT_DIR), "sources": [source]}
    try:
        return _config(document, "environment", env)
    except ConfigError as exc:
        variable = _ENV_KEYS.get(exc.key)
        if variable is None:
            raise
        raise ConfigError(variable, exc.problem) from None


def _config(document: Mapping[str, Any], origin: str, env: Mapping[str, str]) -> Config:
    tables.reject_unknown(document, ("output_dir", "s3_endpoint_url", "sources"), "")
    output_dir = tables.coerce(document.get("output_dir", DEFAULT_OUTPUT_DIR), str, "output_dir")
    try:
        check_output_dir(output_dir)
    except ValueError as exc:
        shown = f"{tables.show(output_dir)} " if output_dir else ""
        raise ConfigError("output_dir", f"{shown}{exc}") from None
    endpoint = None
    if is_remote(output_dir):
        endpoint = tables.coerce(document.get("s3_endpoint_url", ""), str, "s3_endpoint_url") or (
            env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        )
        if endpoint:
            _check_url(endpoint, "s3_endpoint_url")
    elif "s3_endpoint_url" in document:
        raise ConfigError("s3_endpoint_url", "applies only when output_dir is s3://bucket/prefix")
    source_tables = document.get("sources")
    if not isinstance(source_tables, list) or not source_tables:
        raise ConfigError("sources", "define at least one [[sources]] table")
    sources = tuple(_source(table, f"sources[{index}]", env) for index, table in enumerate(source_tables))
    names = [source.name for source in sources]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("sources", f"the name {tables.show(name)} is used twice; names are unique")
    return Config(output_dir=output_dir, sources=sources, origin=origin, s3_endpoint_url=endpoint)


def _source(table: Any, where: str, env: Mapping[str, str]) -> Source:
    if not isinstance(table, dict):
        raise ConfigError(where, f"{tables.show(table)} is not a table")
    nested = {key: table[key] for key in ("pagination", "auth", "incremental") if key in table}
    flat = {key: value for key, value in table.items() if key not in nested}
    if isinstance(flat.get("formats"), str):
        flat["formats"] = [flat["formats"]]
    source = tables.build(Source, flat, where, skip=("pagination", "auth", "incremental"))

    if not NAME_PATTERN.fullmatch(source.name):
        raise ConfigError(
            f"{where}.name",
            f"{tables.show(source.name)} is not allowed; use 1-64 of a-z, 0-9, _ and -, "
            "starting with a letter or digit",
        )
    _check_url(source.url, f"{where}.url")
    _check_choice(source.method, METHODS, f"{where}.method")
    if source.body is not None and source.method != "POST":
        raise ConfigError(f"{where}.body", 'a body is sent only with method = "POST"')
    for fmt in source.formats:
        _check_choice(fmt, FORMATS, f"{where}.formats")
    if not source.formats or len(set(source.formats)) != len(source.formats):
        raise ConfigError(
            f"{where}.formats",
            f"{tables.show(list(source.formats))} must be a non-empty subset of {list(FORMATS)}",
        )
    try:
        schedule.validate(source.schedule)
    except ValueError as exc:
        raise ConfigError(
            f"{where}.schedule", f'{tables.show(source.schedule)} {exc}; e.g. "0 * * * *" for hourly'
        ) from None
    for key in ("timeout_s", "run_timeout_s", "max_response_mb"):
        _check_positive(getattr(source, key), f"{where}.{key}")
    _check_positive(source.retry.max_attempts, f"{where}.retry.max_attempts")
    if source.retry.max_wait_s < 0:
        raise ConfigError(f"{where}.retry.max_wait_s", f"{source.retry.max_wait_s} must be 0 or more")

    return dataclasses.replace(
        source,
        pagination=_pagination(nested.get("pagination", {}), f"{where}.pagination"),
        auth=_auth(nested["auth"], f"{where}.auth", env) if "auth" in nested else None,
        incremental=(
            _incremental(nested["incremental"], f"{where}.incremental") if "incremental" in nested else None
        ),
    )


def _pagination(table: Any, where: str) -> Paginator:
    kind, settings = tables.kind(table, where, PAGINATORS, default="none")
    paginator = tables.build(kind, settings, where, label=f"type = {tables.show(table.get('type', 'none'))}")
    _check_positive(paginator.max_pages, f"{where}.max_pages")
    for key in ("size", "limit"):
        value = getattr(paginator, key, None)
        if value is not None:
            _check_positive(value, f"{where}.{key}")
    if getattr(paginator, "size_param", None) and getattr(paginator, "size", None) is None:
        raise ConfigError(f"{where}.size", "is required with size_param")
    return paginator


def _auth(table: Any, where: str, env: Mapping[str, str]) -> Auth:
    if isinstance(table, dict):
        for key in sorted(_INLINE_SECRET_KEYS & set(table)):
            raise ConfigError(
                f"{where}.{key}",
                "inline secrets are not allowed (value redacted); "
                "name an environment variable or a file instead (token_env/token_file, "
                "password_env/password_file)",
            )
    kind, settings = tables.kind(table, where, AUTH_KINDS)
    auth = tables.build(kind, settings, where, label=f"type = {tables.show(table['type'])}")
    if getattr(auth, "header", None) and getattr(auth, "query", None):
        raise ConfigError(f"{where}.query", "set header or query, not both")
    env_key, file_key = auth.secret_keys
    variable, path = getattr(auth, env_key), getattr(auth, file_key)
    if (variable is None) == (path is None):
        raise ConfigError(where, f"set exactly one of {env_key} and {file_key}")
    if variable is not None:
        secret = env.get(variable, "")
        if not secret:
            raise ConfigError(f"{where}.{env_key}", f"environment variable {variable} is not set")
    else:
        try:
            with open(path, encoding="utf-8") as file:
                secret = file.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(f"{where}.{file_key}", f"cannot read {path}: {reason}") from None
        if not secret:
            raise ConfigError(f"{where}.{file_key}", f"{path} is empty")
    redact.register_secret(secret, username=getattr(auth, "username", None))
    if getattr(auth, "query", None):
        redact.register_param(auth.query)
    return dataclasses.replace(auth, secret=secret)


def _incremental(table: Any, where: str) -> Incremental:
    if isinstance(table, dict) and isinstance(table.get("primary_key"), str):
        table = {**table, "primary_key": [table["primary_key"]]}
    incremental = tables.build(Incremental, table, where)
    for key in ("cursor_field", "param"):
        if not getattr(incremental, key):
            raise ConfigError(f"{where}.{key}", "must not be empty")
    return incremental


def _check_choice(value: str, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise ConfigError(key, f"{tables.show(value)} is not one of: {', '.join(allowed)}")


def _check_positive(value: float, key: str) -> None:
    if value <= 0:
        raise ConfigError(key, f"{value} must be greater than 0")


def _check_url(url: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{tables.show(redact.redact(url))} is not an http:// or https:// URL")
    if parts.password is not None:
        raise ConfigError(key, "credentials in the URL are not allowed (value redacted); use [sources.auth]")
