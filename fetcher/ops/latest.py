"""Each source's latest outcome: the newer of its newest run record and the outcome kept on this host.

Run records are durable and shared (they live in `output_dir`), but a run that fails before it
can write one (a read-only or full output, an unreachable bucket) leaves only its kept outcome
(`fetcher.ops.outcomes`). Health and status read both, and the newer one wins.
"""

from __future__ import annotations

import dataclasses

from fetcher.errors import OutputError
from fetcher.ops import outcomes
from fetcher.ops.outcomes import Outcome
from fetcher.run import history
from fetcher.storage.base import Storage


def read(storage: Storage, source: str, status_directory: str | None = None) -> Outcome | None:
    """The newest outcome of `source`, with its last success from both; None before its first run.

    When the run records cannot be read (the output is unreachable), the kept outcome alone
    answers; without one, the OutputError says why.
    """
    kept = outcomes.load(source, status_directory)
    try:
        record = history.latest(storage, source)
        success = history.last_success(storage, source) if record is not None else None
    except OutputError:
        if kept is None:
            raise
        return kept
    candidates = [outcome for outcome in (kept, record and Outcome.of_record(record, None)) if outcome]
    if not candidates:
        return None
    newest = max(candidates, key=lambda outcome: outcome.finished_at)
    successes = [moment for moment in (kept and kept.last_success_at, success and success.ended_at) if moment]
    return dataclasses.replace(newest, last_success_at=max(successes, default=None))
