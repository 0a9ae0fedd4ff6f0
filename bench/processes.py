"""Child processes: one run timed with its peak RSS from os.wait4, and the API server's lifetime."""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SERVER_START_TIMEOUT_S = 180.0
SERVER_STOP_TIMEOUT_S = 10.0


class BenchError(RuntimeError):
    """A client failed, loaded the wrong number of records, or the server did not start."""


@dataclass(frozen=True)
class Finished:
    """What a finished child left behind: its timings and its stdout."""

    wall_s: float
    peak_rss_mib: float
    stdout: str


def run_child(cmd: Sequence[str], work_dir: Path, cwd: Path | None = None) -> Finished:
    """Run cmd to completion, timing it and reading its own peak RSS with os.wait4.

    stdout and stderr go to files in work_dir, so no pipe can stall the child. If this
    process is interrupted while waiting, the child is killed rather than left running.
    """
    out_path, err_path = work_dir / "stdout.txt", work_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd or work_dir)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise BenchError(f"{shlex.join(cmd)} exited {proc.returncode}:\n{tail}")
    return Finished(wall, usage.ru_maxrss / 1024, out_path.read_text())


@contextmanager
def api_server(records: int, page_size: int, log_dir: Path) -> Iterator[str]:
    """Start bench/server.py on a free port, yield its records URL, stop it on exit."""
    cmd = [
        sys.executable,
        str(BENCH_DIR / "server.py"),
        "--records",
        str(records),
        "--page-size",
        str(page_size),
    ]
    with (log_dir / f"server-{records}.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        url = f"http://127.0.0.1:{_read_ready_port(proc, deadline)}/records"
        _wait_until_serving(f"{url}?page=1&per_page={page_size}", proc, deadline)
        yield url
    finally:
        _stop_process(proc)


def _read_ready_port(proc: subprocess.Popen[bytes], deadline: float) -> int:
    """Wait (until deadline) for the server's ``READY <port>`` line and return the port."""
    assert proc.stdout is not None
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError("API server did not report READY in time")
            if selector.select(remaining):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    raise BenchError(f"API server exited with {proc.wait()} before READY")
                buffer += chunk
    word, port = buffer.split(b"\n", 1)[0].decode().split()
    if word != "READY":
        raise BenchError(f"unexpected first line from API server: {buffer!r}")
    return int(port)


def _wait_until_serving(url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll url until it answers 200; fail at the deadline or if the server exits."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError as error:
            if time.monotonic() > deadline:
                raise BenchError(f"API server not answering {url}: {error}") from error
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise BenchError(f"API server exited with {proc.returncode}")


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate proc, killing it if it outlives SERVER_STOP_TIMEOUT_S."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
