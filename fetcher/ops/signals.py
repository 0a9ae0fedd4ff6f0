"""Signals: what is sent before each run (`STARTS`) and after it (`SIGNALS`), never failing the run.

The command line calls `before_run` before a source's run and `after_run` after it, whether the
run succeeded, failed, or failed before it could write its run record. A start sees the
configuration and the source; a signal also sees the run's outcome and the source's previous one
(None before its first run), so that a recovery is a success after a failure. A start or signal
that raises is logged and never fails the run, nor delays the next one; each is bounded by its
own timeouts. Adding one is one function and one entry here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fetcher.config.model import Config, Source
from fetcher.logs import quote
from fetcher.ops import metrics, notify, outcomes, report
from fetcher.ops.outcomes import Outcome

logger = logging.getLogger(__name__)

Start = Callable[[Config, Source], None]
Signal = Callable[[Config, Source, Outcome, "Outcome | None"], None]

STARTS: list[tuple[str, Start]] = [("notify", notify.start)]
# Metrics first: a local file, written at once; notifications wait on their receivers.
SIGNALS: list[tuple[str, Signal]] = [
    ("metrics", metrics.write),
    ("notify", notify.finish),
    ("report", report.rebuild),
]


def before_run(config: Config, source: Source) -> None:
    """Send every start (healthchecks.io's `/start`); none of it fails the run."""
    for name, start in STARTS:
        try:
            start(config, source)
        except Exception as exc:  # a signal must never fail the run; the log line says what broke
            _log_failed(name, source, exc)


def after_run(config: Config, source: Source, outcome: Outcome, previous: Outcome | None) -> None:
    """Keep `outcome` as the source's latest, then send every signal; none of it fails the run."""
    try:
        outcomes.save(outcome)
    except OSError as exc:
        logger.warning(
            "event=status_not_saved source=%s error=%s", source.name, quote(f"{exc.strerror}: {exc}")
        )
    for name, signal in SIGNALS:
        try:
            signal(config, source, outcome, previous)
        except Exception as exc:  # a signal must never fail the run; the log line says what broke
            _log_failed(name, source, exc)


def _log_failed(name: str, source: Source, exc: Exception) -> None:
    logger.warning("event=signal_failed signal=%s source=%s error=%s", name, source.name, quote(str(exc)))
