"""Logging: one `key=value` line per event, UTC timestamps, every line redacted."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
import time
from typing import IO

from fetcher.redact import redact

_BARE = re.compile(r"[^\s\"=\\]+")


def quote(value: object) -> str:
    """Render `value` for a `key=value` line: bare when safe, else as a JSON string."""
    text = value if isinstance(value, str) else str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class _Formatter(logging.Formatter):
    """`2026-11-21T10:00:00.123Z level=INFO event=...`, redacted as a whole, tracebacks included."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)s level=%(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        if record.name.startswith("fetcher"):
            return redact(super().format(record))
        # A third-party line (urllib3 at DEBUG, say) is one event too: keep it on one line.
        record.msg, record.args = f"logger={record.name} message={quote(record.getMessage())}", None
        return redact(super().format(record))


def configure(level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send every log line to `stream` (stderr by default); call once, from the entry point."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries log at WARNING and above only, unless the whole run is at DEBUG.
    library_level = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in ("urllib3", "requests", "tenacity"):
        logging.getLogger(name).setLevel(library_level)


def cap_file(stream: IO[str], max_bytes: int) -> int | None:
    """Empty the file behind `stream` if it is a regular file over `max_bytes`; return its size.

    Cron appends every run to one log file (`>> /var/log/fetch.log`); each run caps it at start.
    The file was opened for appending, so the next write lands at the new, empty end, and
    `tail -F` (which copies the file to `docker logs`) notices the truncation and carries on.
    """
    try:
        descriptor = stream.fileno()
        info = os.fstat(descriptor)
    except (AttributeError, OSError, ValueError):  # not a real file: a pipe, a terminal, pytest
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size <= max_bytes:
        return None
    os.ftruncate(descriptor, 0)
    return info.st_size
