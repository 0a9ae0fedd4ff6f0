"""kill -9 in the middle of `fetcher backfill`, then the same command again: it resumes.

Twice, in a real subprocess: a power cut after a window's files and run record but before its
progress is saved (by crash_at.py), and a SIGKILL from outside while a window is being fetched.
After each kill and after the resumed backfill: every published file holds exactly one window's
rows, each once; every window before `done_until` is published; the cursor is never written; and
the resumed backfill starts at `done_until` and leaves every window published.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.faults import harness as h
from tests.faults import ondisk as disk
from tests.faults.conftest import Workspace
from tests.faults.faultserver import Conn, FaultServer, Hit

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 6
PER_DAY = 8
RANGE = ("--from", "2026-01-01", "--to", f"2026-01-{DAYS + 1:02d}")
WINDOWED = {
    "cursor_field": "updated_at",
    "initial": "2026-01-01",
    "start_param": "start",
    "end_param": "end",
    "window": "1d",
}


def _day_of(text: str) -> int:
    return (datetime.fromisoformat(text) - JAN1).days


def _window_rows(day: int) -> list[int]:
    return [day * 100 + n for n in range(PER_DAY)]


class Api:
    """A day's events for `start=`..`end=`; when asked for day `kill_on`, SIGKILLs the backfill first."""

    def __init__(self) -> None:
        self.kill_on: int | None = None
        self.pid: int | None = None
        self.starts: list[int] = []

    def __call__(self, hit: Hit, conn: Conn) -> None:
        day = _day_of(hit.query["start"])
        self.starts.append(day)
        if day == self.kill_on and self.pid is not None:
            self.kill_on = None
            os.kill(self.pid, signal.SIGKILL)
            conn.reset()
            return
        moment = JAN1 + timedelta(days=day)
        records = [
            {"seq": seq, "updated_at": (moment + timedelta(hours=n)).isoformat()}
            for n, seq in enumerate(_window_rows(day))
        ]
        conn.send(200, {"data": records})


def _backfill(harness: Workspace, config: Path, *crash: str) -> subprocess.Popen[bytes]:
    command = ["backfill", h.NAME, *RANGE, "--config", str(config)]
    return harness.start([sys.executable, "-m", "tests.faults.crash_at", *crash, "--", *command])


def _finish(harness: Workspace, process: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=120)
    text = stderr.decode(errors="replace")
    harness.logs.append(text)
    return process.returncode, text


def _progress(out: Path) -> dict[str, Any]:
    return json.loads((disk.source_dir(out) / "_backfill.json").read_text())


def _check(out: Path) -> dict[int, int]:
    """Every published file holds one window's rows, each once; windows before done_until are
    published; the cursor is untouched. Returns how many times each window was published."""
    published: dict[int, int] = defaultdict(int)
    for path in disk.data_files(out):
        if path.suffix != ".parquet":
            continue
        table = pq.read_table(path, columns=["seq", "updated_at"])
        seqs = table.column("seq").to_pylist()
        day = seqs[0] // 100
        assert seqs == _window_rows(day), f"{path.name} is not exactly window {day}: {seqs}"
        published[day] += 1
    disk.check_published_files(out)
    done_until = _day_of(_progress(out)["done_until"].replace("Z", "+00:00"))
    assert all(published[day] >= 1 for day in range(done_until)), (dict(published), done_until)
    assert disk.state(out) is None, "a backfill never writes the cursor"
    for record in disk.run_records(out):
        assert record["kind"] == "backfill", record
    return dict(published)


def test_backfill_killed_before_progress_resumes_at_done_until(
    harness: Workspace, server: FaultServer
) -> None:
    api = Api()
    server.route("/events", api)
    config = harness.config(server.url("/events"), incremental=WINDOWED, max_attempts=1)

    code, stderr = _finish(
        harness, _backfill(harness, config, "--crash", "fetcher.run.backfill:save_progress@2")
    )

    assert code == -9, stderr
    assert _progress(harness.out)["done_until"] == "2026-01-02T00:00:00Z", "window 2's progress never saved"
    assert _check(harness.out) == {0: 1, 1: 1}, "window 2's files were published before the kill"
    api.starts.clear()

    code, stderr = _finish(harness, _backfill(harness, config))

    assert code == 0, stderr
    assert api.starts == list(range(1, DAYS)), "resumed at done_until: window 2 again, then the rest"
    assert _check(harness.out) == {0: 1, 1: 2, **{day: 1 for day in range(2, DAYS)}}
    assert _progress(harness.out)["done_until"] == f"2026-01-{DAYS + 1:02d}T00:00:00Z"
    assert disk.temp_files(harness.out) == []


def test_backfill_sigkilled_mid_window_resumes_every_window_once(
    harness: Workspace, server: FaultServer
) -> None:
    api = Api()
    api.kill_on = 3
    server.route("/events", api)
    config = harness.config(server.url("/events"), incremental=WINDOWED, max_attempts=1)

    process = _backfill(harness, config)
    api.pid = process.pid
    code, stderr = _finish(harness, process)

    assert code == -9, stderr
    assert _progress(harness.out)["done_until"] == "2026-01-04T00:00:00Z"
    assert _check(harness.out) == {0: 1, 1: 1, 2: 1}
    api.starts.clear()

    code, stderr = _finish(harness, _backfill(harness, config))

    assert code == 0, stderr
    assert api.starts == list(range(3, DAYS))
    assert _check(harness.out) == {day: 1 for day in range(DAYS)}, "every window once"
    assert disk.temp_files(harness.out) == []
