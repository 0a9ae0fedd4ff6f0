"""What each command does: run, backfill, validate, status, report, show, health and prepare.

Each takes the parsed options and returns the exit code. Heavy modules are imported inside, so
that `--help` and `validate` stay light.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fetcher import logs
from fetcher.cli.edge import configuration, lean_memory, without_pandas
from fetcher.config import environment
from fetcher.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, ConfigError, FetcherError, Locked

if TYPE_CHECKING:
    from fetcher.config.model import Config, Source

logger = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    from fetcher.ops import job

    settings = configuration(args.config, os.environ)
    sources = _chosen(settings, args.source, args.schedule)
    # Everything imported so far lives as long as the process: move it out of the collector's
    # sight, so that collecting the short-lived objects of each page never walks it again.
    gc.freeze()
    if args.missed:
        from fetcher.ops import health

        sources = tuple(source for source in health.due(settings, _now()) if source in sources)
        logger.info("event=catch_up sources=%s", logs.quote(",".join(s.name for s in sources) or "none"))
    with without_pandas():
        lean_memory(os.environ)
        return job.run(settings, sources)


def _chosen(settings: Config, names: list[str] | None, schedule: str | None) -> tuple[Source, ...]:
    """The sources named (each `--source`; all if none), of those the ones cron runs at `schedule`."""
    named = {source.name for name in names or [None] for source in settings.select(name)}
    sources = tuple(source for source in settings.sources if source.name in named)
    if schedule is None:
        return sources
    from fetcher.ops import container, installed

    return installed.running_at(installed.load(container.STATE_DIR), sources, schedule)


def backfill(args: argparse.Namespace) -> int:
    """Fetch a past range of one source window by window: 0 when all of it is published."""
    from fetcher.config import times
    from fetcher.run import backfill, history

    settings = configuration(args.config, os.environ)
    (source,) = settings.select(args.name, "SOURCE")
    bounds = []
    for key, text in (("--from", args.start), ("--to", args.end)):
        try:
            bounds.append(times.parse_time(text))
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None
    try:
        with without_pandas():
            lean_memory(os.environ)
            records = backfill.backfill(settings, source, *bounds, now=_now(), restart=args.restart)
    except Locked as exc:
        logger.warning("event=skipped source=%s message=%s", source.name, logs.quote(str(exc)))
        return EXIT_LOCKED
    failed = any(record.status != history.SUCCEEDED for record in records)
    return EXIT_FAILED if failed else EXIT_OK


def validate(args: argparse.Namespace) -> int:
    from fetcher.pagination.kinds import kind_of
    from fetcher.redact import redact

    settings = configuration(args.config, os.environ)
    print(
        f"config ok: {settings.origin}: {len(settings.sources)} source(s), output_dir {settings.output_dir}"
    )
    for source in settings.sources:
        print(
            f"  {source.name}: {source.method} {redact(source.url)} schedule {source.schedule!r} "
            f"pagination {kind_of(source.pagination)} formats {','.join(source.formats)}"
        )
    if not args.probe:
        return EXIT_OK
    from fetcher.run import runner

    failed = False
    for source in settings.sources:
        try:
            columns, count = runner.probe(settings, source)
        except FetcherError as exc:
            print(f"probe {source.name}: failed: {exc}")
            failed = True
            continue
        print(f"probe {source.name}: {count} record(s) on the first page, {len(columns)} column(s)")
        for name, kind in columns.items():
            print(f"  {name}: {kind}")
    return EXIT_FAILED if failed else EXIT_OK


def status(args: argparse.Namespace) -> int:
    from fetcher.ops import container, installed, status

    settings = configuration(args.config, os.environ)
    print(status.render(settings, schedules=installed.load(container.STATE_DIR)))
    return EXIT_OK


def report(args: argparse.Namespace) -> int:
    from fetcher.ops import report

    settings = configuration(args.config, os.environ)
    print(report.write(settings, args.runs))
    return EXIT_OK


def show(args: argparse.Namespace) -> int:
    from fetcher import reader

    settings = configuration(args.config, os.environ)
    (source,) = settings.select(args.name, "SOURCE")
    table = reader.read_table(
        settings.output_dir, source.name, latest=args.latest, s3_endpoint_url=settings.s3_endpoint_url
    )
    print(reader.preview(table, source.name, limit=args.limit))
    return EXIT_OK


def health(args: argparse.Namespace) -> int:
    """Exit 0 healthy or 1 unhealthy (Docker reserves 2), printing one line that says why."""
    from fetcher.ops import container, health, installed

    try:
        settings = configuration(args.config, os.environ)
    except FetcherError as exc:
        print(f"unhealthy: configuration error: {exc}")
        return EXIT_FAILED
    report = health.check(
        settings,
        now=_now(),
        started_at=health.container_started_at(),
        scheduler_running=health.scheduler_running(),
        schedules=installed.load(container.STATE_DIR),
    )
    print(report.summary)
    return EXIT_OK if report.healthy else EXIT_FAILED


def prepare(args: argparse.Namespace) -> int:
    from fetcher.ops import container

    try:
        settings, error = configuration(args.config, os.environ), None
    except ConfigError as exc:
        settings, error = None, exc
    startup = environment.startup(os.environ)
    user = container.prepare(settings, error, startup, os.environ, once=args.once)
    logger.info("event=prepared uid=%d gid=%d from=%s", user.uid, user.gid, logs.quote(user.reason))
    print(container.on_start(settings, startup))  # for the entrypoint: missed, always or never
    return EXIT_OK


def _now() -> datetime:
    return datetime.now(UTC)
