"""The fetcher's errors: one root, a few subclasses that carry context, and their exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL from sysexits.h: try again later


class FetcherError(Exception):
    """Root of every expected failure; the command line logs it in one line, with no traceback."""

    exit_code = EXIT_FAILED


class ConfigError(FetcherError):
    """The configuration is missing or invalid. `key` names the offending setting."""

    exit_code = EXIT_CONFIG

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class FetchError(FetcherError):
    """A request failed: a connection error, a timeout, an HTTP status, or an unusable body.

    `url` is always redacted; `status` is the HTTP status when there was one.
    """

    def __init__(
        self,
        url: str,
        problem: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem
        self.status = status
        self.retry_after_s = retry_after_s


class RetryableError(FetchError):
    """A failure worth retrying: a connection error, a timeout, a 429 or a 5xx."""


class PaginationError(FetcherError):
    """Pagination went wrong: a loop, or more pages than `max_pages` allows."""


class RecordsError(FetcherError):
    """The records in a response are not in an accepted shape."""


class OutputError(FetcherError):
    """Files could not be written under `output_dir` (disk full, permission denied, unsafe path)."""


class Conflict(OutputError):
    """A conditional write lost: another run changed the object since this run read it (S3's 412).

    The object keeps what the other run wrote: nothing is overwritten.
    """


class GuardError(FetcherError):
    """A data guard with action `fail` tripped: the run publishes nothing and does not advance state.

    `guards` names each guard that tripped; the message says by how much.
    """

    def __init__(self, guards: list[str], message: str) -> None:
        super().__init__(message)
        self.guards = guards


class DeadlineExceeded(FetcherError):
    """The run took longer than `run_timeout_s`."""


class Locked(FetcherError):
    """Another run of the same source holds its lock; `host` names its host when it is elsewhere."""

    exit_code = EXIT_LOCKED

    def __init__(self, source: str, pid: int | None, host: str | None = None) -> None:
        holder = f"pid {pid}" if pid else "pid unknown"
        where = f" on {host}" if host else ""
        super().__init__(f"skipped: run in progress ({holder}{where})")
        self.source = source
        self.pid = pid
        self.host = host
