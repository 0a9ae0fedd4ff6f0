"""The configuration's typed model: frozen msgspec structs, and the checks types cannot express.

Every later module receives these typed values, never raw tables or variables. msgspec checks keys
and types as `load` converts a file (see convert.py); each struct's `check` then refuses values
its type allows but the fetcher does not, naming the key, the value and what is allowed. The
pagination and auth kinds check their own settings (fetcher.pagination.kinds, fetcher.http.auth).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import msgspec

from fetcher.config import parent as parents
from fetcher.config import placeholders, schedule
from fetcher.config.checks import check_choice, check_positive, check_url
from fetcher.config.convert import show
from fetcher.config.guards import Guards
from fetcher.config.incremental import WINDOW_PLACEHOLDERS, Incremental, check_requests
from fetcher.config.signals import Metrics, Notify
from fetcher.errors import ConfigError
from fetcher.http.auth import Auth
from fetcher.http.budget import RateLimit
from fetcher.http.graphql import GraphQL
from fetcher.output.formats import FORMATS
from fetcher.pagination.kinds import Cursor, NoPagination, Paginator
from fetcher.records.rules import DEFAULT_SEPARATOR, ColumnRules
from fetcher.storage import (
    DEFAULT_LEASE_S,
    LOCAL_LOCK,
    LOCKS,
    MIN_LEASE_S,
    S3_LOCK,
    check_output_dir,
    is_remote,
)

DEFAULT_OUTPUT_DIR = "/out"
DEFAULT_REPORT_RUNS = 30
# Sources of one job run at once: small, because each holds its pages and writers in memory.
DEFAULT_MAX_PARALLEL_SOURCES = 2
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
METHODS = ("GET", "POST")


class Retry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[sources.retry]`: attempts per request and the cap on any single wait."""

    max_attempts: int = 5
    max_wait_s: float = 60.0

    def check(self, where: str) -> None:
        check_positive(self.max_attempts, f"{where}.max_attempts")
        if self.max_wait_s < 0:
            raise ConfigError(f"{where}.max_wait_s", f"{self.max_wait_s} must be 0 or more")


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[[sources]]`: one API endpoint and how to fetch, page through and write it."""

    name: str
    url: str
    method: str = "GET"
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: dict[str, Any] | None = None
    graphql: GraphQL | None = None
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
    guards: Guards = Guards()
    parent: parents.Parent | None = None
    rate_limit: RateLimit | None = None
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
        check_url(self.url, f"{where}.url")
        placeholders.check_host(self.url, f"{where}.url")
        check_choice(self.method, METHODS, f"{where}.method")
        self._check_body(where)
        for fmt in self.formats:
            check_choice(fmt, tuple(FORMATS), f"{where}.formats")
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
            check_positive(value, f"{where}.{key}")
        self.rules.check(where)
        self.retry.check(f"{where}.retry")
        self.pagination.check(f"{where}.pagination")
        if self.format == "ndjson" and self.pagination.body_path:
            raise ConfigError(
                f"{where}.pagination.{self.pagination.body_path}",
                'an NDJSON body is a list of records, with no path to read; page by "page" or '
                '"offset" without a path into the body, or by "link"',
            )
        if self.auth is not None:
            self.auth.check(f"{where}.auth")
        if self.incremental is not None:
            self.incremental.check(f"{where}.incremental")
        check_requests(self.incremental, self._templates(), where)
        if self.notify is not None:
            self.notify.check(f"{where}.notify")
        self.guards.check(f"{where}.guards")
        if self.guards.stale_cursor_runs is not None and self.incremental is None:
            raise ConfigError(
                f"{where}.guards.stale_cursor_runs",
                "watches the incremental cursor: add [sources.incremental]",
            )
        if self.parent is not None:
            self.parent.check(f"{where}.parent")
            parents.check_template(self, where)
        if self.rate_limit is not None:
            self.rate_limit.check(f"{where}.rate_limit")

    @property
    def request_body(self) -> dict[str, Any] | None:
        """The JSON body of the first request: the GraphQL query, else `body`; None for none."""
        return self.graphql.payload() if self.graphql is not None else self.body

    def _check_body(self, where: str) -> None:
        """A body needs a POST; a GraphQL source's body is its query, paged by a cursor variable."""
        paging = f"{where}.pagination"
        variable = self.pagination.cursor_variable if isinstance(self.pagination, Cursor) else None
        if self.graphql is None:
            if self.body is not None and self.method != "POST":
                raise ConfigError(f"{where}.body", 'a body is sent only with method = "POST"')
            if self.pagination.sends_body and self.method != "POST":
                raise ConfigError(f"{paging}.in", 'paging values go in a body only with method = "POST"')
            if variable is not None:
                raise ConfigError(f"{paging}.cursor_variable", "is for a [sources.graphql] source")
            return
        self.graphql.check(f"{where}.graphql")
        if self.body is not None:
            raise ConfigError(f"{where}.body", "a GraphQL source's body is its graphql query and variables")
        if not isinstance(self.pagination, NoPagination) and variable is None:
            raise ConfigError(
                f"{paging}.type", 'a GraphQL source pages by "cursor" with cursor_variable, or not at all'
            )


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration, as the file's top level holds it, and where it came from (`origin`).

    `s3_endpoint_url` is for S3-compatible stores: the `s3_endpoint_url` key, else the standard
    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL variable; None means AWS itself. `notify` is the
    global `[notify]` table (`notify_of` lays a source's own over it) and `metrics` the `[metrics]` one.
    `report_runs` is how many of each source's latest runs the report charts.
    `max_parallel_sources` is how many sources one job (one process) runs at once. `lock` is how runs
    of a source keep out of each other: "local" (a flock) or "s3" (a lease of `lease_s` in the bucket).
    """

    output_dir: str = DEFAULT_OUTPUT_DIR
    s3_endpoint_url: str | None = None
    sources: tuple[Source, ...]
    notify: Notify = Notify()
    metrics: Metrics = Metrics()
    report_runs: int = DEFAULT_REPORT_RUNS
    max_parallel_sources: int = DEFAULT_MAX_PARALLEL_SOURCES
    lock: str = LOCAL_LOCK
    lease_s: float = DEFAULT_LEASE_S
    origin: str = ""  # where the configuration came from (a path, or "environment"): set by load

    resolved_fields: ClassVar[tuple[str, ...]] = ("origin",)

    def check(self) -> None:
        """Raise ConfigError naming the key unless every setting makes sense."""
        try:
            check_output_dir(self.output_dir)
        except ValueError as exc:
            shown = f"{show(self.output_dir)} " if self.output_dir else ""
            raise ConfigError("output_dir", f"{shown}{exc}") from None
        if self.s3_endpoint_url:
            check_url(self.s3_endpoint_url, "s3_endpoint_url")
        self.notify.check("notify")
        self.metrics.check("metrics")
        check_positive(self.report_runs, "report_runs")
        check_positive(self.max_parallel_sources, "max_parallel_sources")
        self._check_lock()
        for index, source in enumerate(self.sources):
            source.check(f"sources[{index}]")
        names = [source.name for source in self.sources]
        for name in names:
            if names.count(name) > 1:
                raise ConfigError("sources", f"the name {show(name)} is used twice; names are unique")
        parents.check_parents(self.sources)

    def _check_lock(self) -> None:
        check_choice(self.lock, LOCKS, "lock")
        if self.lock == S3_LOCK and not is_remote(self.output_dir):
            raise ConfigError("lock", '"s3" serialises runs through the bucket: output_dir must be s3://')
        if self.lease_s < MIN_LEASE_S:
            raise ConfigError("lease_s", f"{self.lease_s:g} must be at least {MIN_LEASE_S:g} (seconds)")

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
