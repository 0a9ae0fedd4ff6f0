"""The job: every chosen source run once in this process, `max_parallel_sources` at a time.

Cron starts one job per schedule, not one per source: a Python process with pyarrow loaded costs
over 100 MB, so sources due together share one. Each source keeps what it had alone: its lock, its
run record, its log lines (each names its source), its outcome and signals, and its exit code;
one that fails never stops the others. The job exits 2 if a source had a configuration error,
else 1 if any failed, else 75 if any was skipped (locked), else 0.

With one worker (one source, or `max_parallel_sources = 1`) sources run in turn on the main
thread. With more, each runs on a worker thread. Every wait of a run is bounded there too (socket
timeouts, the watchdog that holds each exchange to `timeout_s` in any thread, the run's deadline,
retries that never sleep past it). A child waits for its parent when both run in the job, so it
reads the fresh rows. On SIGTERM the job exits at once: a run cut off publishes nothing (files
are published whole) and its next run removes its temporary files, as after SIGKILL.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

from fetcher.config.model import Config, Source
from fetcher.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, EXIT_OK, FetcherError, Locked
from fetcher.logs import quote
from fetcher.ops import outcomes, signals
from fetcher.run import history, runner

logger = logging.getLogger(__name__)


def run(config: Config, sources: Sequence[Source]) -> int:
    """Run every source of `sources` once and return the job's exit code.

    A bug (an exception other than FetcherError) in one source's run does not stop the others: the
    first is raised, with its traceback, once every source has finished.
    """
    workers = min(config.max_parallel_sources, len(sources))
    queue = _Queue(sources)
    codes: list[int] = []
    bugs: list[Exception] = []

    def work() -> None:
        while (source := queue.take()) is not None:
            try:
                codes.append(run_one(config, source))
            except Exception as exc:  # raised once the others are done, with its traceback
                codes.append(EXIT_FAILED)
                bugs.append(exc)
            finally:
                queue.done(source)

    if workers <= 1:
        work()  # on the main thread
    else:
        logger.info(
            "event=job pid=%d sources=%s max_parallel_sources=%d",
            os.getpid(),
            quote(",".join(source.name for source in sources)),
            config.max_parallel_sources,
        )
        # Daemon threads: on SIGTERM the main thread exits at once, whatever the workers do.
        threads = [
            threading.Thread(target=work, name=f"fetcher-job-{n}", daemon=True) for n in range(workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if bugs:
        raise bugs[0]
    return _exit_code(codes)


def run_one(config: Config, source: Source) -> int:
    """Run `source` with its signals and return its exit code; only a bug raises."""
    previous = outcomes.load(source.name)
    signals.before_run(config, source)
    try:
        record = runner.run(config, source)
    except Locked as exc:
        logger.warning("event=skipped source=%s message=%s", source.name, quote(str(exc)))
        return EXIT_LOCKED
    except FetcherError as exc:  # before the run could start (its lock, its storage): the others go on
        logger.error("event=error source=%s error=%s", source.name, quote(str(exc)))
        outcome = outcomes.Outcome.of_error(source.name, exc, previous)
        code = exc.exit_code
    else:
        outcome = outcomes.Outcome.of_record(record, previous)
        code = EXIT_OK if record.status == history.SUCCEEDED else EXIT_FAILED
    signals.after_run(config, source, outcome, previous)
    return code


def _exit_code(codes: Sequence[int]) -> int:
    for code in (EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED):
        if code in codes:
            return code
    return EXIT_OK


class _Queue:
    """The sources still to run, in order; a child is handed out only once its parent is done."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self._waiting = list(sources)
        self._running: set[str] = set()
        self._changed = threading.Condition()

    def take(self) -> Source | None:
        """The next source ready to run, waiting for a parent if need be; None when none is left."""
        with self._changed:
            while self._waiting:
                unfinished = self._running | {source.name for source in self._waiting}
                for source in self._waiting:
                    if source.parent is None or source.parent.source not in unfinished:
                        self._waiting.remove(source)
                        self._running.add(source.name)
                        return source
                self._changed.wait()
            return None

    def done(self, source: Source) -> None:
        with self._changed:
            self._running.discard(source.name)
            self._changed.notify_all()
