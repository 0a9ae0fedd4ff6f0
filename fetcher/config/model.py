"""The configuration's typed model: frozen msgspec structs, and the checks types cannot express.

Every later module receives these typed values, never raw tables or variables. msgspec checks keys
and types as `load` converts a file (see convert.py); each struct's `check` then refuses values
its type allows but the fetcher does not, naming the key, the value and what is allowed. The
pagination and auth kinds check their own settings (fetcher.pagination.kinds, fetcher.http.auth).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import msgspec

from fetcher import redact
from fetcher.config import placeholders, schedule
from fetcher.config.convert import show
from fetcher.config.incremental import WINDOW_PLACEHOLDERS, Incremental, check_requests
from fetcher.errors import ConfigError
from fetcher.http.auth import Auth
from fetcher.output.formats import FORMATS
from fetcher.pagination.kinds import NoPagination, Paginator
from fetcher.records.rules import DEFAULT_SEPARATOR, ColumnRules
from fetcher.storage import check_output_dir

DEFAULT_OUTPUT_DIR = "/out"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
METHODS = ("GET", "POST")
NOTIFY_EVENTS = ("failure", "recovery", "success")


class Retry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sources.retry]`: attempts per request and the cap on any single wait."""

    max_attempts: int = 5
    max_wait_s: float = 60.0

    def check(self, where: str) -> None:
        _check_positive(self.max_attempts, f"{where}.max_attempts")
        if self.max_wait_s < 0:
            raise ConfigError(f"{where}.max_wait_s", f"{self.max_wait_s} must be 0 or more")


class Notify(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[notify]` and `[sources.notify]`: where a run's notifications go, and on which events.

    Each receiver's URL is a secret: the configuration names the variable (`*_url_env`) or the
    file (`*_url_file`) that holds it, and fetcher.config.secrets reads it into the `*_url` field
    (never a key; `repr` hides it). A source's table is laid over the global one (`over`).
    Unset `on` and `timeout_s` mean the global value, else the defaults.
    """

    webhook_url_env: str | None = None
    webhook_url_file: str | None = None
    slack_webhook_url_env: str | None = None
    slack_webhook_url_file: str | None = None
    healthchecks_url_env: str | None = None
    healthchecks_url_file: str | None = None
    on: tuple[str, ...] | None = None
    timeout_s: float | None = None
    webhook_url: str = ""
    slack_webhook_url: str = ""
    healthchecks_url: str = ""

    URL_KEYS: ClassVar[tuple[str, ...]] = ("webhook_url", "slack_webhook_url", "healthchecks_url")
    resolved_fields: ClassVar[tuple[str, ...]] = URL_KEYS
    DEFAULT_ON: ClassVar[tuple[str, ...]] = ("failure", "recovery")
    DEFAULT_TIMEOUT_S: ClassVar[float] = 5.0

    @property
    def events(self) -> tuple[str, ...]:
        """The events that notify the webhook and Slack: `on`, else failure and recovery."""
        return self.DEFAULT_ON if self.on is None else self.on

    @property
    def timeout(self) -> float:
        return self.DEFAULT_TIMEOUT_S if self.timeout_s is None else self.timeout_s

    def variable(self, key: str) -> str | None:
        """The environment variable that holds the URL `key` (`webhook_url`), if it is read from one."""
        return getattr(self, f"{key}_env")

    def file(self, key: str) -> str | None:
        """The file that holds the URL `key`, if it is read from one."""
        return getattr(self, f"{key}_file")

    def check(self, where: str) -> None:
        """Raise ConfigError naming the key under `where` unless the settings make sense."""
        for key in self.URL_KEYS:
            if self.variable(key) is not None and self.file(key) is not None:
                raise ConfigError(f"{where}.{key}_env", f"set {key}_env or {key}_file, not both")
        for event in self.on or ():
            _check_choice(event, NOTIFY_EVENTS, f"{where}.on")
        if self.on is not None and len(set(self.on)) != len(self.on):
            raise ConfigError(f"{where}.on", f"{show(list(self.on))} names an event twice")
        if self.timeout_s is not None:
            _check_positive(self.timeout_s, f"{where}.timeout_s")

    def over(self, base: Notify) -> Notify:
        """This table laid over `base`: each receiver it names replaces base's; `on`, `timeout_s` if set."""
        changes: dict[str, Any] = {}
        for key in self.URL_KEYS:
            if self.variable(key) is None and self.file(key) is None:
                for name in (f"{key}_env", f"{key}_file", key):
                    changes[name] = getattr(base, name)
        for name in ("on", "timeout_s"):
            if getattr(self, name) is None:
                changes[name] = getattr(base, name)
        return msgspec.structs.replace(self, **changes)

    def __repr__(self) -> str:
        shown = (
            f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name not in self.URL_KEYS
        )
        return f"{type(self).__name__}({', '.join(shown)})"


class Metrics(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`[metrics]`: the node_exporter textfile-collector directory each run writes its metrics to."""

    textfile_dir: str | None = None

    def check(self, where: str) -> None:
        if self.textfile_dir is not None and (not self.textfile_dir or "://" in self.textfile_dir):
            raise ConfigError(f"{where}.textfile_dir", f"{show(self.textfile_dir)} is not a local directory")


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[[sources]]`: one API endpoint and how to fetch, page through and write it."""

    name: str
    url: str
    method: str = "GET"
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: dict[str, Any] | None = None
    records: str = ""
    format: Literal["auto", "json", "ndjson"] = "auto"
    formats: tuple[str, ...] = tuple(FORMATS)
    schedule: str = schedule.DEFAULT_SCHEDULE
    timeout_s: float = 30.0
    run_timeout_s: float = 3000.0
    max_response_mb: float = 256.0
    retry: Retry = Retry()
    pagination: Paginator = NoPagination()
    auth: Auth | None = None
    incremental: Incremental | None = None
    notify: Notify | None = None
    flatten_separator: str = DEFAULT_SEPARATOR
    column_names: Literal["as_is", "snake_case"] = "as_is"
    infer_types: bool = True
    columns: dict[str, str] = {}
    exclude: tuple[str, ...] = ()

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1024 * 1024)

    @property
    def placeholders(self) -> set[str]:
        """The names of the `{placeholders}` in the URL, parameter and header values and the body."""
        return set().union(*(placeholders.names(template) for _, template in self._templates()))

    @property
    def windowed(self) -> bool:
        """Whether runs ask for time windows (see `Incremental`)."""
        if self.incremental is None:
            return False
        return self.incremental.has_window_keys or bool(self.placeholders & WINDOW_PLACEHOLDERS)

    def filled(self, values: Mapping[str, str]) -> Source:
        """This source with the `{placeholders}` named in `values` filled in (percent-encoded in the URL)."""
        if not values:
            return self
        return msgspec.structs.replace(
            self,
            url=placeholders.fill(self.url, values, partial(quote, safe="")),
            params=placeholders.fill(self.params, values),
            headers=placeholders.fill(self.headers, values),
            body=placeholders.fill(self.body, values),
        )

    def _templates(self) -> tuple[tuple[str, Any], ...]:
        return (("url", self.url), ("params", self.params), ("headers", self.headers), ("body", self.body))

    @property
    def rules(self) -> ColumnRules:
        """How the source's records land as columns: names, declared types, fields left out."""
        return ColumnRules(
            flatten_separator=self.flatten_separator,
            column_names=self.column_names,
            infer_types=self.infer_types,
            columns=self.columns,
            exclude=self.exclude,
        )

    def check(self, where: str) -> None:
        """Raise ConfigError naming the key under `where` unless every setting makes sense."""
        if not NAME_PATTERN.fullmatch(self.name):
            raise ConfigError(
                f"{where}.name",
                f"{show(self.name)} is not allowed; use 1-64 of a-z, 0-9, _ and -, "
                "starting with a letter or digit",
            )
        _check_url(self.url, f"{where}.url")
        _check_choice(self.method, METHODS, f"{where}.method")
        if self.body is not None and self.method != "POST":
            raise ConfigError(f"{where}.body", 'a body is sent only with method = "POST"')
        for fmt in self.formats:
            _check_choice(fmt, tuple(FORMATS), f"{where}.formats")
        if not self.formats or len(set(self.formats)) != len(self.formats):
            raise ConfigError(
                f"{where}.formats",
                f"{show(list(self.formats))} must be a non-empty subset of {list(FORMATS)}",
            )
        try:
            schedule.validate(self.schedule)
        except ValueError as exc:
            raise ConfigError(
                f"{where}.schedule", f'{show(self.schedule)} {exc}; e.g. "0 * * * *" for hourly'
            ) from None
        for key, value in (
            ("timeout_s", self.timeout_s),
            ("run_timeout_s", self.run_timeout_s),
            ("max_response_mb", self.max_response_mb),
        ):
            _check_positive(value, f"{where}.{key}")
        self.rules.check(where)
        self.retry.check(f"{where}.retry")
        self.pagination.check(f"{where}.pagination")
        if self.format == "ndjson" and self.pagination.body_path:
            raise ConfigError(
                f"{where}.pagination.{self.pagination.body_path}",
                'an NDJSON body is a list of records, with no path to read; page by "page", '
                '"offset" (without total_path) or "link"',
            )
        if self.auth is not None:
            self.auth.check(f"{where}.auth")
        if self.incremental is not None:
            self.incremental.check(f"{where}.incremental")
        check_requests(self.incremental, self._templates(), where)
        if self.notify is not None:
            self.notify.check(f"{where}.notify")


class Config(msgspec.Struct, frozen=True):
    """The whole configuration: where output goes, the sources, and where it came from.

    `s3_endpoint_url` is for S3-compatible stores: the `s3_endpoint_url` key, else the standard
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL variable; None means AWS itself. `notify` is the
    global `[notify]` table (`notify_of` lays a source's own over it) and `metrics` the `[metrics]` one.
    """

    output_dir: str
    sources: tuple[Source, ...]
    origin: str
    s3_endpoint_url: str | None = None
    notify: Notify = Notify()
    metrics: Metrics = Metrics()

    def check(self) -> None:
        """Raise ConfigError naming the key unless every setting makes sense."""
        try:
            check_output_dir(self.output_dir)
        except ValueError as exc:
            shown = f"{show(self.output_dir)} " if self.output_dir else ""
            raise ConfigError("output_dir", f"{shown}{exc}") from None
        if self.s3_endpoint_url:
            _check_url(self.s3_endpoint_url, "s3_endpoint_url")
        self.notify.check("notify")
        self.metrics.check("metrics")
        for index, source in enumerate(self.sources):
            source.check(f"sources[{index}]")
        names = [source.name for source in self.sources]
        for name in names:
            if names.count(name) > 1:
                raise ConfigError("sources", f"the name {show(name)} is used twice; names are unique")

    def notify_of(self, source: Source) -> Notify:
        """Where `source`'s notifications go: its own `[sources.notify]` laid over `[notify]`."""
        return self.notify if source.notify is None else source.notify.over(self.notify)

    def select(self, name: str | None, key: str = "--source") -> tuple[Source, ...]:
        """All sources, or the one called `name` (`key` names the option that asked for it)."""
        if name is None:
            return self.sources
        for source in self.sources:
            if source.name == name:
                return (source,)
        names = ", ".join(source.name for source in self.sources)
        raise ConfigError(key, f"{show(name)} is not a configured source; have: {names}")


def _check_url(url: str, key: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{show(redact.redact(url))} is not an http:// or https:// URL")
    if parts.password is not None:
        raise ConfigError(key, "credentials in the URL are not allowed (value redacted); use [sources.auth]")


def _check_choice(value: str, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise ConfigError(key, f"{show(value)} is not one of: {', '.join(allowed)}")


def _check_positive(value: float, key: str) -> None:
    if value <= 0:
        raise ConfigError(key, f"{value} must be greater than 0")
