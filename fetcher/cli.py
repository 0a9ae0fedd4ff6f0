"""The command line: `python -m fetcher [run|backfill|validate|status|show|health]`, exit codes, signals.

Exit codes: 0 ok (including "nothing new"), 1 a fetch failed, 2 the configuration is invalid,
75 skipped because the source is locked by a run in progress, 143 stopped by SIGTERM.
Heavy modules (requests, pyarrow) are imported by the commands, not here, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from fetcher import logs
from fetcher.config import environment
from fetcher.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, EXIT_OK, ConfigError, FetcherError, Locked
from fetcher.version import __version__

if TYPE_CHECKING:
    from fetcher.config.model import Config

logger = logging.getLogger(__name__)

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwind (cleaning up temporary files) and exit 143.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` swallows it.
    """


def main(argv: Sequence[str] | None = None, *, cap_log: bool = False) -> int:
    """Run a command. `cap_log` (the cron job's entry) first empties a log file over its cap."""
    args = _parser().parse_args(argv)
    try:
        log = environment.log_settings(os.environ, args.log_level)
    except ConfigError as exc:
        logs.configure("INFO")
        logger.error("event=config_error error=%s", logs.quote(str(exc)))
        return EXIT_CONFIG
    truncated = logs.cap_file(sys.stderr, log.max_bytes) if cap_log else None
    logs.configure(log.level)
    if truncated:
        logger.info("event=log_truncated previous_bytes=%d", truncated)
    signal.signal(signal.SIGTERM, _terminate)
    command: Callable[[argparse.Namespace], int] = args.handler
    try:
        return command(args)
    except FetcherError as exc:
        event = "config_error" if exc.exit_code == EXIT_CONFIG else "error"
        logger.error("event=%s error=%s", event, logs.quote(str(exc)))
        return exc.exit_code
    except Terminated:
        logger.warning("event=terminated signal=SIGTERM")
        return EXIT_TERMINATED


def configuration(path: str | None, environ: Mapping[str, str]) -> Config:
    """Load the configuration, read its secrets and register them for redaction: the program's edge.

    Every command goes through here, so a missing secret fails each one as a configuration error.
    """
    from fetcher.config import load, secrets

    config = secrets.resolve(load.load(path, environ), environ)
    _register_secrets(config)
    return config


def _register_secrets(config: Config) -> None:
    """Redact every secret from now on, with Basic auth's encoded form and an API key's parameter.

    A notification URL is redacted whole and by its path and query too, the token that errors
    such as requests' "Max retries exceeded with url: /hook/..." show without the host.
    """
    from urllib.parse import urlsplit

    from fetcher import redact
    from fetcher.http.auth import ApiKey, Basic

    for auth in (source.auth for source in config.sources if source.auth is not None):
        redact.register_secret(auth.secret, username=auth.username if isinstance(auth, Basic) else None)
        if isinstance(auth, ApiKey) and auth.query:
            redact.register_param(auth.query)
    for notify in (config.notify, *(source.notify for source in config.sources if source.notify)):
        for url in filter(None, (getattr(notify, key) for key in notify.URL_KEYS)):
            redact.register_secret(url)
            parts = urlsplit(url)
            token = parts.path + (f"?{parts.query}" if parts.query else "")
            if token.strip("/"):
                redact.register_secret(token)


def _run(args: argparse.Namespace) -> int:
    from fetcher.ops import outcomes, signals
    from fetcher.run import history, runner

    settings = configuration(args.config, os.environ)
    sources = settings.select(args.source)
    # Everything imported so far lives as long as the process: move it out of the collector's
    # sight, so that collecting the short-lived objects of each page never walks it again.
    gc.freeze()
    if args.missed:
        from fetcher.ops import health

        sources = tuple(source for source in health.due(settings, _now()) if source in sources)
        logger.info("event=catch_up sources=%s", logs.quote(",".join(s.name for s in sources) or "none"))
    codes = []
    for source in sources:
        previous = outcomes.load(source.name)
        signals.before_run(settings, source)
        try:
            record = runner.run(settings, source)
        except Locked as exc:
            logger.warning("event=skipped source=%s message=%s", source.name, logs.quote(str(exc)))
            codes.append(EXIT_LOCKED)
            continue
        except FetcherError as exc:  # before the run could start (its lock, its storage): the others go on
            logger.error("event=error source=%s error=%s", source.name, logs.quote(str(exc)))
            codes.append(exc.exit_code)
            outcome = outcomes.Outcome.of_error(source.name, exc, previous)
        else:
            codes.append(EXIT_OK if record.status == history.SUCCEEDED else EXIT_FAILED)
            outcome = outcomes.Outcome.of_record(record, previous)
        signals.after_run(settings, source, outcome, previous)
    for code in (EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED):
        if code in codes:
            return code
    return EXIT_OK


def _backfill(args: argparse.Namespace) -> int:
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
        records = backfill.backfill(settings, source, *bounds, now=_now(), restart=args.restart)
    except Locked as exc:
        logger.warning("event=skipped source=%s message=%s", source.name, logs.quote(str(exc)))
        return EXIT_LOCKED
    failed = any(record.status != history.SUCCEEDED for record in records)
    return EXIT_FAILED if failed else EXIT_OK


def _validate(args: argparse.Namespace) -> int:
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


def _status(args: argparse.Namespace) -> int:
    from fetcher.ops import container, installed, status

    settings = configuration(args.config, os.environ)
    print(status.render(settings, schedules=installed.load(container.STATE_DIR)))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from fetcher import reader

    settings = configuration(args.config, os.environ)
    (source,) = settings.select(args.name, "SOURCE")
    table = reader.read_table(
        settings.output_dir, source.name, latest=args.latest, s3_endpoint_url=settings.s3_endpoint_url
    )
    print(reader.preview(table, source.name, limit=args.limit))
    return EXIT_OK


def _health(args: argparse.Namespace) -> int:
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


def _prepare(args: argparse.Namespace) -> int:
    from fetcher.ops import container

    try:
        settings, error = configuration(args.config, os.environ), None
    except ConfigError as exc:
        settings, error = None, exc
    startup = environment.startup(os.environ)
    user = container.prepare(settings, error, startup, os.environ)
    logger.info("event=prepared uid=%d gid=%d from=%s", user.uid, user.gid, logs.quote(user.reason))
    print(container.on_start(settings, startup))  # for the entrypoint: missed, always or never
    return EXIT_OK


def _now() -> datetime:
    return datetime.now(UTC)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="TOML configuration (default: $FETCHER_CONFIG, else /etc/fetcher/fetcher.toml, "
        "else FETCH_* variables)",
    )
    common.add_argument(
        "--log-level",
        choices=environment.LOG_LEVELS,
        default=argparse.SUPPRESS,
        help="log level (default: $FETCHER_LOG_LEVEL, else INFO)",
    )
    parser = argparse.ArgumentParser(
        prog="fetcher",
        description="Fetch HTTP JSON APIs into timestamped Parquet and CSV files.",
        epilog="Exit codes: 0 ok, 1 fetch failed, 2 configuration error, 75 skipped (source "
        "locked by a run in progress), 143 stopped by SIGTERM.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"fetcher {__version__}")
    parser.set_defaults(handler=_run, config=None, log_level=None, source=None, missed=False)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="fetch every source, or one (the default)")
    run.add_argument("--source", metavar="NAME", help="run only this source")
    run.add_argument(
        "--missed",
        action="store_true",
        help="run only sources whose last success is older than their schedule's interval",
    )
    run.set_defaults(handler=_run)

    backfill = commands.add_parser(
        "backfill",
        parents=[common],
        help="fetch a past time range of a windowed source, window by window, leaving its cursor alone",
    )
    backfill.add_argument("name", metavar="SOURCE", help="the source to backfill")
    backfill.add_argument(
        "--from", dest="start", required=True, metavar="TIME", help="start (2026-01-01, or ISO 8601)"
    )
    backfill.add_argument(
        "--to", dest="end", required=True, metavar="TIME", help="end, excluded (same forms)"
    )
    backfill.add_argument(
        "--restart",
        action="store_true",
        help="drop the saved progress of an earlier backfill and start afresh",
    )
    backfill.set_defaults(handler=_backfill)

    validate = commands.add_parser("validate", parents=[common], help="check the configuration")
    validate.add_argument(
        "--probe", action="store_true", help="also fetch each source's first page and show its columns"
    )
    validate.set_defaults(handler=_validate)

    status = commands.add_parser(
        "status", parents=[common], help="show each source's last run, its error, last success and next run"
    )
    status.set_defaults(handler=_status)

    show = commands.add_parser(
        "show", parents=[common], help="print a source's landed columns, their types, and its first rows"
    )
    show.add_argument("name", metavar="SOURCE", help="the source to show")
    show.add_argument("--limit", type=int, default=10, metavar="N", help="rows to preview (default 10)")
    show.add_argument("--latest", action="store_true", help="only the newest snapshot, as fetcher.read")
    show.set_defaults(handler=_show)

    health = commands.add_parser(
        "health", parents=[common], help="exit 0 if cron runs and every source is fresh, else 1"
    )
    health.set_defaults(handler=_health)

    prepare = commands.add_parser(
        "prepare",
        parents=[common],
        help="(container start-up, as root) write the crontab, job user and environment",
    )
    prepare.set_defaults(handler=_prepare)
    return parser


if __name__ == "__main__":
    sys.exit(main())
