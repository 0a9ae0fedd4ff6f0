"""kill -9 (issue case 11): fifty kills at random moments of a 50-page incremental fetch.

Case 11 runs a 50-page incremental fetch again and again in forked children of a fork server
(zygote.py, so that no kill lands in `import`), and SIGKILLs each at a random moment, until 50
kills have landed: half at a moment drawn from the whole run, half from its last few milliseconds
(after the last page: writing, publishing, the run record and the state), where the whole run
spends little time and most of the risk lies. After every kill: every final file is a complete
Parquet or CSV file, earlier files are untouched, and the state matches the files of the run it
names. Each run, when it reaches the API, has already removed the previous run's temporary files
and sends the saved cursor. A last, ordinary run then succeeds and leaves no temporary file.
`FAULTS_KILL_SEED=N` replays the kill moments of a failure (the seed is in its message).

Each run of case 11 is given its own start second (a patched clock in the fork server), so that
runs need not wait for the next second to get a run id of their own. Re-running within the second
of a crashed run is tested on its own, deterministically, in test_crash.py
(`test_crash_after_publish_rerun_same_second_keeps_published_files`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit

PAGES = 50
PER_PAGE = 10
ROWS = PAGES * PER_PAGE
KILLS = 50
MAX_RUNS = 150
RUN_BLOCK = 100_000  # run r serves seq r*RUN_BLOCK ... r*RUN_BLOCK + ROWS - 1
CURSOR = {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor", "max_pages": PAGES + 1}


@dataclass
class KillApi:
    """50 pages of fresh records per run; on each run's first request, checks cleanup and cursor."""

    out: Path
    runs: int = 0
    problems: list[str] = field(default_factory=list)
    last_page_served: threading.Event = field(default_factory=threading.Event)
    last_page_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, hit: Hit, conn: Conn) -> None:
        page = int(hit.query.get("cursor", "0"))
        if page == 0:
            self._on_run_start(hit)
        run = self.runs
        records = [
            {"seq": run * RUN_BLOCK + page * PER_PAGE + n, "run": run, "page": page, "pad": "p" * 16}
            for n in range(PER_PAGE)
        ]
        conn.send(200, {"data": records, "next": str(page + 1) if page + 1 < PAGES else None})
        if page + 1 == PAGES:
            self.last_page_at = time.monotonic()
            self.last_page_served.set()

    def _on_run_start(self, hit: Hit) -> None:
        with self._lock:
            self.runs += 1
        # A run removes its source's temporary files before it fetches; the report's are removed
        # by the next report, written after the run (and checked after the final run below).
        left = [
            path for path in disk.temp_files(self.out) if path.relative_to(self.out).parts[0] != "_report"
        ]
        if left:
            self.problems.append(f"run {self.runs} reached the API with temporary files left: {left}")
        saved = disk.state(self.out)
        expected = "0" if saved is None else json.dumps(saved["cursor"])
        if hit.query.get("since") != expected:
            self.problems.append(
                f"run {self.runs} sent since={hit.query.get('since')}, state holds {expected}"
            )


class Zygote:
    """The fork server (zygote.py), driven line by line."""

    def __init__(self, harness: Workspace) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.zygote"],
            cwd=harness.root,
            env=harness.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert "ready" in self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line, "the fork server died"
        return json.loads(line)

    def start(self, argv: list[str], log: Path, clock: str) -> int:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"argv": argv, "log": str(log), "clock": clock}) + "\n")
        self._process.stdin.flush()
        return int(self._read()["pid"])

    def wait(self) -> int:
        return int(self._read()["exit"])

    def reap(self) -> None:
        """Let the ended child's pid go (it is a zombie until then, so a late kill hits nothing)."""
        assert self._process.stdin is not None
        self._process.stdin.write("reap\n")
        self._process.stdin.flush()

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)


@dataclass
class Verifier:
    """Checks the output after each crash; files already checked are only re-checked if they changed."""

    out: Path
    seen: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        current = {path.relative_to(self.out).as_posix(): path for path in disk.data_files(self.out)}
        for relpath, identity in self.seen.items():
            path = self.out / relpath
            assert path.exists() and _identity(path) == identity, f"published {relpath} changed or vanished"
        for relpath, path in current.items():
            if relpath not in self.seen:
                self._check_new(relpath, path)
        for path in sorted((disk.source_dir(self.out) / "_runs").glob("*.json")):
            relpath = path.relative_to(self.out).as_posix()
            if relpath not in self.seen:
                record = json.loads(path.read_text())
                assert record["status"] in ("succeeded", "failed"), record
                for item in record["files"]:
                    published = self.out / item["path"]
                    assert hashlib.sha256(published.read_bytes()).hexdigest() == item["sha256"], item
                self.seen[relpath] = _identity(path)
        saved = disk.state(self.out)
        if saved is not None:
            run_files = [relpath for relpath in current if saved["run_id"] in relpath]
            assert len(run_files) == 2, f"the state names run {saved['run_id']}, whose files are {run_files}"
            assert self.last_seq[saved["run_id"]] == saved["cursor"], (saved, self.last_seq[saved["run_id"]])

    def _check_new(self, relpath: str, path: Path) -> None:
        try:
            if path.suffix == ".parquet":
                seqs = pq.read_table(path, columns=["seq"]).column("seq").to_pylist()
            else:
                seqs = [int(row["seq"] or -1) for row in disk.read_csv(path)]
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            raise AssertionError(f"{relpath} ({path.stat().st_size} bytes) is not readable: {exc}") from None
        first = seqs[0]
        assert seqs == list(range(first, first + ROWS)) and first % RUN_BLOCK == 0, f"{relpath} is incomplete"
        run_id = path.stem.rsplit("_", 1)[1]
        assert self.last_seq.setdefault(run_id, seqs[-1]) == seqs[-1], f"{relpath} disagrees with its sibling"
        self.seen[relpath] = _identity(path)


def _identity(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


@pytest.fixture
def zygote(harness: Workspace) -> Iterator[Zygote]:
    server = Zygote(harness)
    yield server
    server.close()


def test_kill_9_at_random_moments_files_complete_state_consistent(
    harness: Workspace, server: FaultServer, zygote: Zygote
) -> None:
    seed = int(os.environ.get("FAULTS_KILL_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    api = KillApi(harness.out)
    server.route("/items", api)
    config = harness.config(server.url("/items"), pagination=CURSOR, timeout_s=5, run_timeout_s=60)
    argv = ["run", "--config", str(config)]
    verifier = Verifier(harness.out)
    first_second = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    logs = harness.root / "logs"
    logs.mkdir()

    def start(number: int) -> tuple[int, float]:
        clock = (first_second + timedelta(seconds=number)).isoformat().replace("+00:00", "Z")
        pid = zygote.start(argv, logs / f"run{number}.log", clock)
        return pid, time.monotonic()

    api.last_page_served.clear()
    pid, started = start(0)
    assert zygote.wait() == 0, (logs / "run0.log").read_text()
    zygote.reap()
    ended = time.monotonic()
    full_run_s, tail_s = ended - started, ended - _served_at(api)
    verifier.check()

    kills = runs = 0
    while kills < KILLS:
        runs += 1
        assert runs < MAX_RUNS, f"only {kills} of {KILLS} kills landed in {runs} runs (seed {seed})"
        api.last_page_served.clear()
        pid, started = start(runs)
        done, result = _reap_in_background(zygote)
        in_tail = kills % 2 == 1
        if in_tail:
            assert api.last_page_served.wait(60), f"run {runs} never fetched its last page (seed {seed})"
        if not done.wait(rng.uniform(0, tail_s if in_tail else full_run_s)):
            os.kill(pid, 9)
        assert done.wait(60), f"run {runs} did not end (seed {seed})"
        zygote.reap()
        if result[0] == -9:
            kills += 1
        else:
            assert result[0] == 0, (
                f"run {runs} exited {result[0]} (seed {seed}): {(logs / f'run{runs}.log').read_text()}"
            )
        try:
            verifier.check()
        except AssertionError as exc:
            raise AssertionError(f"after run {runs} (seed {seed}): {exc}") from exc

    final = harness.run(config)

    assert final.returncode == 0, final.stderr
    assert disk.temp_files(harness.out) == [], "the next run did not clean up"
    verifier.check()
    assert api.problems == [], f"seed {seed}: " + "\n".join(api.problems)
    assert disk.state(harness.out)["cursor"] == api.runs * RUN_BLOCK + ROWS - 1


def _reap_in_background(zygote: Zygote) -> tuple[threading.Event, list[int]]:
    """Wait for the current run's exit code on a thread: the event is set when it is in the list."""
    done = threading.Event()
    result: list[int] = []

    def reap() -> None:
        result.append(zygote.wait())
        done.set()

    threading.Thread(target=reap, daemon=True).start()
    return done, result


def _served_at(api: KillApi) -> float:
    """When the last page of the run just finished was served (monotonic)."""
    assert api.last_page_served.is_set()
    return api.last_page_at
