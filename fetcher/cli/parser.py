"""The command line's options: one parser, the options every command shares, and each command's own."""

from __future__ import annotations

import argparse

from fetcher.cli import commands
from fetcher.config import environment
from fetcher.version import __version__


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the shared options, then each command's own (`run` is the default)."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="fetcher",
        description="Fetch HTTP JSON APIs into timestamped Parquet and CSV files.",
        epilog="Exit codes: 0 ok, 1 fetch failed, 2 configuration error, 75 skipped (source "
        "locked by a run in progress), 143 stopped by SIGTERM.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"fetcher {__version__}")
    parser.set_defaults(handler=commands.run, source=None, schedule=None, missed=False)
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in (_add_run, _add_backfill, _add_checks, _add_reading, _add_container):
        add(subcommands, common)
    return parser


def _common() -> argparse.ArgumentParser:
    """The options every command takes, before or after its name."""
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
    return common


_Subcommands = argparse._SubParsersAction  # argparse's type of add_subparsers' result


def _add_run(subcommands: _Subcommands, common: argparse.ArgumentParser) -> None:
    run = subcommands.add_parser("run", parents=[common], help="fetch every source, or one (the default)")
    run.add_argument(
        "--source", action="append", metavar="NAME", help="run only this source (may be given several times)"
    )
    run.add_argument(
        "--schedule",
        metavar="EXPR",
        help="run only the sources cron runs at this schedule (the crontab's one line per schedule)",
    )
    run.add_argument(
        "--missed",
        action="store_true",
        help="run only sources whose last success is older than their schedule's interval",
    )
    run.set_defaults(handler=commands.run)


def _add_backfill(subcommands: _Subcommands, common: argparse.ArgumentParser) -> None:
    backfill = subcommands.add_parser(
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
    backfill.set_defaults(handler=commands.backfill)


def _add_checks(subcommands: _Subcommands, common: argparse.ArgumentParser) -> None:
    """validate, status and health: is the configuration right, how did the runs go."""
    validate = subcommands.add_parser("validate", parents=[common], help="check the configuration")
    validate.add_argument(
        "--probe", action="store_true", help="also fetch each source's first page and show its columns"
    )
    validate.set_defaults(handler=commands.validate)
    status = subcommands.add_parser(
        "status", parents=[common], help="show each source's last run, its error, last success and next run"
    )
    status.set_defaults(handler=commands.status)
    health = subcommands.add_parser(
        "health", parents=[common], help="exit 0 if cron runs and every source is fresh, else 1"
    )
    health.set_defaults(handler=commands.health)


def _add_reading(subcommands: _Subcommands, common: argparse.ArgumentParser) -> None:
    """report and show: the landed runs and data, for people."""
    report = subcommands.add_parser(
        "report", parents=[common], help="write the run report: one HTML page of every source's last runs"
    )
    report.add_argument(
        "--runs", type=_positive, metavar="N", help="runs charted per source (default: report_runs, else 30)"
    )
    report.set_defaults(handler=commands.report)
    show = subcommands.add_parser(
        "show", parents=[common], help="print a source's landed columns, their types, and its first rows"
    )
    show.add_argument("name", metavar="SOURCE", help="the source to show")
    show.add_argument("--limit", type=int, default=10, metavar="N", help="rows to preview (default 10)")
    show.add_argument("--latest", action="store_true", help="only the newest snapshot, as fetcher.read")
    show.set_defaults(handler=commands.show)


def _add_container(subcommands: _Subcommands, common: argparse.ArgumentParser) -> None:
    prepare = subcommands.add_parser(
        "prepare",
        parents=[common],
        help="(container start-up, as root) write the crontab, job user and environment",
    )
    prepare.add_argument(
        "--once", action="store_true", help="for a one-off run: no crontab; the run reports a bad config"
    )
    prepare.set_defaults(handler=commands.prepare)
