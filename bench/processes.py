"""Child processes: one run timed with its peak RSS (os.wait4, or its process tree's), and the API server."""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SERVER_START_TIMEOUT_S = 180.0
SERVER_STOP_TIMEOUT_S = 10.0
TREE_SAMPLE_INTERVAL_S = 0.02
_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


class BenchError(RuntimeError):
    """A client failed, loaded the wrong number of records, or the server did not start."""


@dataclass(frozen=True)
class Finished:
    """What a finished child left behind: its timings and its stdout.

    peak_rss_mib is the child's own high-water mark (``ru_maxrss`` from os.wait4). With
    ``tree=True``, tree_rss_mib is the peak of the summed RSS of the child and all its
    descendants, sampled every TREE_SAMPLE_INTERVAL_S, and tree_processes the most processes
    seen at once; otherwise both are 0.
    """

    wall_s: float
    peak_rss_mib: float
    stdout: str
    tree_rss_mib: float = 0.0
    tree_processes: int = 0


def run_child(
    cmd: Sequence[str],
    work_dir: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    tree: bool = False,
) -> Finished:
    """Run cmd to completion, timing it and reading its own peak RSS with os.wait4.

    stdout and stderr go to files in work_dir, so no pipe can stall the child. If this
    process is interrupted while waiting, the child is killed rather than left running.
    With tree, a thread also samples the summed RSS of the child's whole process tree.
    """
    out_path, err_path = work_dir / "stdout.txt", work_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd or work_dir, env=env)
        sampler = _TreeSampler(proc.pid) if tree else None
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if sampler is not None:
                sampler.stop()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise BenchError(f"{shlex.join(cmd)} exited {proc.returncode}:\n{tail}")
    own = usage.ru_maxrss / 1024
    if sampler is None:
        return Finished(wall, own, out_path.read_text())
    # A sample can fall between two peaks; the child's own high-water mark is a floor for the tree.
    return Finished(wall, own, out_path.read_text(), max(sampler.peak_mib, own), sampler.most_processes)


class _TreeSampler:
    """Samples the summed RSS of a process and its descendants from /proc, on its own thread.

    Summing RSS counts pages shared between the processes (the interpreter, shared libraries)
    once per process: what each process costs the machine if it ran alone, the measure that
    tells one process per source from one per job.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_mib = 0.0
        self.most_processes = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tree-rss", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stopped.wait(TREE_SAMPLE_INTERVAL_S):
            pids = _tree(self.root)
            self.peak_mib = max(self.peak_mib, sum(_rss_mib(pid) for pid in pids))
            self.most_processes = max(self.most_processes, len(pids))


def _tree(root: int) -> list[int]:
    """root and its live descendants, from each process's parent in /proc/PID/stat."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # exited meanwhile
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and parentheses
            parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, ()))
    return found


def _rss_mib(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_MIB
    except (OSError, IndexError, ValueError):  # exited meanwhile, or a zombie
        return 0.0


@contextmanager
def api_server(records: int, page_size: int, log_dir: Path, delay_ms: int = 0) -> Iterator[str]:
    """Start bench/server.py on a free port, yield its records URL, stop it on exit.

    delay_ms is slept in each request's own handler thread, so concurrent requests overlap.
    """
    cmd = [
        sys.executable,
        str(BENCH_DIR / "server.py"),
        "--records",
        str(records),
        "--page-size",
        str(page_size),
        "--delay-ms",
        str(delay_ms),
    ]
    with (log_dir / f"server-{records}-{page_size}-{delay_ms}.log").open("wb") as log:
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
