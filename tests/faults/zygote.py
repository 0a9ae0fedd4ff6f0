"""A fork server for the kill -9 test: imports the fetcher once, then forks one real run per request.

Starting a fresh interpreter costs most of a second (pyarrow), so fifty runs would spend their time
importing, and random kills would mostly land in `import`. This process imports everything once;
each run is a forked child that calls the real command line (`fetcher.cli.main`), with its own
stderr file, and dies however the test decides (SIGKILL).

Protocol, one JSON object per line: the test writes `{"argv": [...], "log": PATH, "clock": ISO}`;
this process answers `{"pid": N}` at once, then `{"exit": CODE}` when the child has ended (CODE < 0
is a signal). `clock` (optional) is the second the child's run believes it starts in. The ended
child stays a zombie, holding its pid (so that a late kill can never reach another process), until
the test writes `reap`.
"""

from __future__ import annotations

import json
import os
import sys


def _child(argv: list[str], log: str, clock: str | None) -> None:
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    code = 1
    try:
        from fetcher.cli import main
        from tests.faults.crash_at import freeze_clock

        if clock:
            freeze_clock(clock)

        code = main(argv)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    # The point of this process: import everything a run needs, once, before forking. pandas too:
    # pyarrow imports it during a run.
    import pandas  # noqa: F401
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401
    import requests  # noqa: F401

    import tests.faults.crash_at  # noqa: F401

    print(json.dumps({"ready": os.getpid()}), flush=True)
    while line := sys.stdin.readline():
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request["argv"], request["log"], request.get("clock"))
        print(json.dumps({"pid": pid}), flush=True)
        ended = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        code = ended.si_status if ended.si_code == os.CLD_EXITED else -ended.si_status
        print(json.dumps({"exit": code}), flush=True)
        assert sys.stdin.readline().strip() == "reap"
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
