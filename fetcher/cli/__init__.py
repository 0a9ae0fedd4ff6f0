"""The command line: `python -m fetcher [run|backfill|validate|status|show|health|...]`, exit codes, signals.

Exit codes: 0 ok (including "nothing new"), 1 a fetch failed, 2 the configuration is invalid,
75 skipped because the source is locked by a run in progress, 143 stopped by SIGTERM.
Heavy modules (requests, pyarrow) are imported by the commands, not here, so `--help` is instant.
`parser.py` holds the options, `commands.py` what each command does, and `edge.py` the program's
edge, where the configuration is loaded and its secrets registered for redaction.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from fetcher import logs
from fetcher.cli.edge import configuration
from fetcher.cli.parser import build_parser
from fetcher.config import environment
from fetcher.errors import EXIT_CONFIG, ConfigError, FetcherError

__all__ = ["EXIT_TERMINATED", "Terminated", "configuration", "main"]

logger = logging.getLogger(__name__)

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwind (cleaning up temporary files) and exit 143.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` swallows it.
    """


def main(argv: Sequence[str] | None = None, *, cap_log: bool = False) -> int:
    """Run a command. `cap_log` (the cron job's entry) first empties a log file over its cap."""
    # --config and --log-level count before the command or after it: their defaults are set here,
    # once, because a default set on the parser would also become each command's, and override
    # a value given before the command.
    args = build_parser().parse_args(argv, argparse.Namespace(config=None, log_level=None))
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


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()
