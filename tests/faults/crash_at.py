"""Run the fetcher's command line with patches that only this process sees: a crash point, a clock.

    python -m tests.faults.crash_at [--crash MODULE:FUNCTION] [--clock 2026-11-21T10:00:00Z] -- run --config C

`--crash fetcher.run.state:save_cursor` makes the process SIGKILL itself, like a power cut, at the
moment the run calls that function (after its files are published, before the state moves);
`--crash fetcher.storage.local:LocalStorage.publish@2` at the second call of that method.
`--clock` sets the second the run believes it starts in, which names its run and its files. The
fetcher's code is not modified.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from datetime import UTC, datetime
from typing import Any


def crash_at(target: str) -> None:
    """Make the `call`-th call (default 1) of `module:attribute[.attribute][@call]` SIGKILL this process."""
    target, _, call = target.partition("@")
    module_name, path = target.split(":")
    *owners, name = path.split(".")
    owner: Any = importlib.import_module(module_name)
    for attribute in owners:
        owner = getattr(owner, attribute)
    original = getattr(owner, name)
    assert callable(original), target
    calls = iter(range(1, 1 << 30))
    crash_on = int(call or 1)

    def crash(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == crash_on:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(owner, name, crash)


def freeze_clock(iso: str) -> None:
    """Make `fetcher.run.runner`'s clock start at `iso` (UTC) now, and run on from there.

    The run starts, and is named, in that second (unless it finds the second taken and waits
    for the next one, as it would with a real clock).
    """
    import fetcher.run.runner

    start = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    offset = start - datetime.now(UTC)

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            moment = datetime.now(UTC) + offset
            return moment if tz is not None else moment.replace(tzinfo=None)

    fetcher.run.runner.datetime = _Clock  # type: ignore[misc]


def main(argv: list[str]) -> int:
    split = argv.index("--")
    options, fetcher_argv = argv[:split], argv[split + 1 :]
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag == "--crash":
            crash_at(value)
        elif flag == "--clock":
            freeze_clock(value)
        else:
            raise SystemExit(f"unknown option {flag}")
    from fetcher.cli import main as fetcher_main

    return fetcher_main(fetcher_argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
