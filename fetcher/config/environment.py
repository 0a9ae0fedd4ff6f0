"""Environment variables: every one the fetcher reads is named here and parsed into typed values.

Libraries read their own (the AWS chain for S3 credentials and region, requests for proxies), and
the variables that hold secrets are named by the configuration and read by `secrets`. Each group
is parsed where it is used, so that a bad value fails only the command that needs it: the log
settings by every command, the start-up settings by `prepare`, TZ leniently by the schedules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fetcher.errors import ConfigError

CONFIG = "FETCHER_CONFIG"
LOG_LEVEL = "FETCHER_LOG_LEVEL"
LOG_MAX_BYTES = "FETCHER_LOG_MAX_BYTES"
PUID = "PUID"
PGID = "PGID"
TZ = "TZ"
ON_START = "FETCH_ON_START"
IN_CONTAINER = "FETCHER_IN_CONTAINER"  # the image sets it to 1: 127.0.0.1 is then the container itself
STATUS_DIR = "FETCHER_STATUS_DIR"  # where each source's latest outcome is kept (fetcher.ops.outcomes)
S3_ENDPOINT_URLS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  # the first one set wins

# A single source without a file: each FETCH_* variable and the key it stands for (errors name it).
FETCH_URL = "FETCH_URL"
FETCH_NAME = "FETCH_NAME"
FETCH_RECORDS = "FETCH_RECORDS"
FETCH_FORMATS = "FETCH_FORMATS"
FETCH_SCHEDULE = "FETCH_SCHEDULE"
FETCH_PARAMS = "FETCH_PARAMS"
FETCH_BEARER_TOKEN = "FETCH_BEARER_TOKEN"
FETCH_BEARER_TOKEN_FILE = "FETCH_BEARER_TOKEN_FILE"
FETCH_OUTPUT_DIR = "FETCH_OUTPUT_DIR"
FETCH_PAGINATION = "FETCH_PAGINATION"  # the kind; FETCH_PAGINATION_<KEY> its keys (FETCH_PAGINATION_SIZE)
_PAGINATION_KEY = "sources[0].pagination."
_FETCH_KEYS = {
    "sources[0].url": FETCH_URL,
    "sources[0].name": FETCH_NAME,
    "sources[0].records": FETCH_RECORDS,
    "sources[0].formats": FETCH_FORMATS,
    "sources[0].schedule": FETCH_SCHEDULE,
    "sources[0].params": FETCH_PARAMS,
    "sources[0].auth.token_env": FETCH_BEARER_TOKEN,
    "sources[0].auth.token_file": FETCH_BEARER_TOKEN_FILE,
    "output_dir": FETCH_OUTPUT_DIR,
    _PAGINATION_KEY + "type": FETCH_PAGINATION,
}
FROM_ENVIRONMENT = "environment"  # the origin of a configuration made of FETCH_* variables

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
ON_START_CHOICES = ("missed", "always", "never")


@dataclass(frozen=True)
class LogSettings:
    """FETCHER_LOG_LEVEL and FETCHER_LOG_MAX_BYTES (the cap on the cron job's log file)."""

    level: str
    max_bytes: int


@dataclass(frozen=True)
class Startup:
    """What the container's start-up reads: the job's ids, the zone, and what to run at start."""

    uid: int | None
    gid: int | None
    zone: str
    on_start: str


def log_settings(environ: Mapping[str, str], level: str | None = None) -> LogSettings:
    """The log settings; `level` (from --log-level) wins over FETCHER_LOG_LEVEL."""
    chosen = (level or environ.get(LOG_LEVEL, "INFO")).upper()
    if chosen not in LOG_LEVELS:
        raise ConfigError(LOG_LEVEL, f"{chosen!r} is not {', '.join(LOG_LEVELS)}")
    max_bytes = environ.get(LOG_MAX_BYTES, str(DEFAULT_LOG_MAX_BYTES))
    if not max_bytes.isdigit():
        raise ConfigError(LOG_MAX_BYTES, f"{max_bytes!r} is not a number of bytes")
    return LogSettings(chosen, int(max_bytes))


def startup(environ: Mapping[str, str]) -> Startup:
    """TZ, FETCH_ON_START, PUID and PGID, refusing an unknown TZ (glibc would silently use UTC)."""
    zone = zone_name(environ)
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(TZ, f"{zone!r} is not a known time zone, e.g. Europe/Berlin") from None
    on_start = environ.get(ON_START, "missed")
    if on_start not in ON_START_CHOICES:
        raise ConfigError(ON_START, f"{on_start!r} is not one of: {', '.join(ON_START_CHOICES)}")
    return Startup(_id(environ, PUID), _id(environ, PGID), zone, on_start)


def zone_name(environ: Mapping[str, str] = os.environ) -> str:
    """TZ without glibc's optional leading colon; empty when unset."""
    return environ.get(TZ, "").lstrip(":")


def in_container(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the fetcher runs in its image (FETCHER_IN_CONTAINER=1), for hints about the network."""
    return environ.get(IN_CONTAINER) == "1"


def status_dir(environ: Mapping[str, str] = os.environ) -> str | None:
    """`FETCHER_STATUS_DIR`: where outcomes are kept (the image sets it); None when unset."""
    return environ.get(STATUS_DIR) or None


def config_path(environ: Mapping[str, str]) -> str | None:
    """FETCHER_CONFIG: the configuration file, when --config does not name one."""
    return environ.get(CONFIG) or None


def s3_endpoint_url(environ: Mapping[str, str]) -> str | None:
    """The standard AWS endpoint variables, for an S3-compatible store; None means AWS itself."""
    return next((environ[name] for name in S3_ENDPOINT_URLS if environ.get(name)), None)


def fetch_document(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The configuration the FETCH_* variables describe, as a TOML file would; None without FETCH_URL."""
    if not environ.get(FETCH_URL):
        return None
    source: dict[str, Any] = {"name": environ.get(FETCH_NAME, "api"), "url": environ[FETCH_URL]}
    if FETCH_RECORDS in environ:
        source["records"] = environ[FETCH_RECORDS]
    if FETCH_FORMATS in environ:
        source["formats"] = [part.strip() for part in environ[FETCH_FORMATS].split(",")]
    if FETCH_SCHEDULE in environ:
        source["schedule"] = environ[FETCH_SCHEDULE]
    if environ.get(FETCH_PARAMS):
        try:
            source["params"] = dict(parse_qsl(environ[FETCH_PARAMS], strict_parsing=True))
        except ValueError:
            from fetcher.config.convert import show  # here: the command line imports this module for --help

            problem = f"{show(environ[FETCH_PARAMS])} is not a query string like a=1&b=2"
            raise ConfigError(FETCH_PARAMS, problem) from None
    pagination = _pagination(environ)
    if pagination is not None:
        source["pagination"] = pagination
    if FETCH_BEARER_TOKEN in environ and FETCH_BEARER_TOKEN_FILE in environ:
        raise ConfigError(FETCH_BEARER_TOKEN, "set FETCH_BEARER_TOKEN or FETCH_BEARER_TOKEN_FILE, not both")
    if FETCH_BEARER_TOKEN in environ:
        source["auth"] = {"type": "bearer", "token_env": FETCH_BEARER_TOKEN}
    elif FETCH_BEARER_TOKEN_FILE in environ:
        source["auth"] = {"type": "bearer", "token_file": environ[FETCH_BEARER_TOKEN_FILE]}
    document: dict[str, Any] = {"sources": [source]}
    if FETCH_OUTPUT_DIR in environ:
        document["output_dir"] = environ[FETCH_OUTPUT_DIR]
    return document


def name_variable(error: ConfigError) -> ConfigError:
    """`error` about a configuration from FETCH_* variables, naming the variable behind its key."""
    variable = _FETCH_KEYS.get(error.key)
    if variable is None and error.key.startswith(_PAGINATION_KEY):
        variable = f"{FETCH_PAGINATION}_{error.key.removeprefix(_PAGINATION_KEY).upper()}"
    return error if variable is None else ConfigError(variable, error.problem)


def _pagination(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The `[sources.pagination]` table of FETCH_PAGINATION (the kind) and FETCH_PAGINATION_<KEY>.

    A number is a number for the kind's integer keys (`size`, `limit`, `start`, `max_pages`) only:
    a parameter's name stays text whatever it looks like.
    """
    prefix = f"{FETCH_PAGINATION}_"
    keys = {
        name.removeprefix(prefix).lower(): value for name, value in environ.items() if name.startswith(prefix)
    }
    kind = environ.get(FETCH_PAGINATION)
    if not kind and not keys:
        return None
    from fetcher.pagination import kinds  # here: the command line imports this module for --help

    if not kind:
        first = prefix + sorted(keys)[0].upper()
        raise ConfigError(
            FETCH_PAGINATION, f"is required with {first}; one of: {', '.join(kinds.PAGINATORS)}"
        )
    numbers = kinds.integer_keys(kind)
    table: dict[str, Any] = {"type": kind}
    for key, value in keys.items():
        table[key] = int(value) if key in numbers and value.strip().lstrip("-").isdigit() else value
    return table


def _id(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise ConfigError(name, f"{value!r} is not a numeric id")
    return int(value)
