"""The per-source lock: one holder at a time, the holder's pid visible, released on exit; the flock,
or with lock = "s3" the lease, across processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from pyarrow import fs

from fetcher.config.load import load
from fetcher.errors import EXIT_LOCKED, Locked, OutputError
from fetcher.run import lock
from fetcher.storage.local import LocalStorage
from fetcher.storage.workspace import Workspace
from tests import polling
from tests.apiserver import ApiServer, Exchange, Reply

REPO = Path(__file__).resolve().parents[2]


def test_hold_second_holder_is_refused_with_first_pid(tmp_path: Path) -> None:
    path = str(tmp_path / ".lock")
    with lock.hold(path, "api"), pytest.raises(Locked) as caught, lock.hold(path, "api"):
        pass

    assert caught.value.pid == os.getpid()
    assert str(caught.value) == f"skipped: run in progress (pid {os.getpid()})"
    assert caught.value.exit_code == EXIT_LOCKED


def test_hold_released_after_block(tmp_path: Path) -> None:
    path = str(tmp_path / ".lock")
    with lock.hold(path, "api"):
        pass

    with lock.hold(path, "api"):
        assert Path(path).read_text().strip() == str(os.getpid())


def test_hold_unwritable_directory_is_output_error(tmp_path: Path) -> None:
    with (
        pytest.raises(OutputError, match="cannot open lock"),
        lock.hold(str(tmp_path / "missing" / ".lock"), "api"),
    ):
        pass


def test_hold_with_wait_takes_the_lock_once_the_holder_lets_go(tmp_path: Path) -> None:
    path = str(tmp_path / ".lock")
    taken, problems = threading.Event(), []

    def second() -> None:
        try:
            with lock.hold(path, "report", wait=True):
                taken.set()
        except BaseException as exc:  # the test reports it below
            problems.append(exc)

    with lock.hold(path, "report"):
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not taken.is_set()

    polling.wait_for(taken.is_set, what="the waiting holder to take the lock")
    waiter.join()
    assert problems == []


def test_two_processes_on_one_s3_source_with_lock_s3_the_second_exits_75(
    bucket: tuple[fs.S3FileSystem, str], moto_endpoint: str, api: ApiServer, tmp_path: Path
) -> None:
    """Each process has its own TMPDIR, as two hosts would: only the lease in the bucket is shared."""
    _, name = bucket
    release = threading.Event()

    def slow(exchange: Exchange) -> Reply:
        release.wait(timeout=60)
        return 200, {"data": [{"id": 1}]}

    api.route("/items", slow)
    config = tmp_path / "fetcher.toml"
    config.write_text(
        f'output_dir = "s3://{name}/lake"\ns3_endpoint_url = "{moto_endpoint}"\nlock = "s3"\n'
        f'[[sources]]\nname = "api"\nurl = "{api.url("/items")}"\nrecords = "data"\n'
    )

    def fetcher(host: str) -> subprocess.Popen[str]:
        (tmp_path / host).mkdir()
        env = {
            **{key: value for key, value in os.environ.items() if key.startswith("AWS_") or key == "PATH"},
            "PYTHONPATH": str(REPO),
            "TMPDIR": str(tmp_path / host),
        }
        return subprocess.Popen(
            [sys.executable, "-m", "fetcher", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = fetcher("host-a")
    try:
        polling.wait_for(lambda: api.requests, what="the first run's request")
        second = fetcher("host-b")
        _, second_err = second.communicate(timeout=60)
    finally:
        release.set()
        _, first_err = first.communicate(timeout=60)

    assert second.returncode == EXIT_LOCKED, second_err
    assert f"skipped: run in progress (pid {first.pid} on {socket.gethostname()})" in second_err
    assert first.returncode == 0, first_err
    assert len(api.requests) == 1


def test_hold_source_takes_the_flock_unless_lock_is_s3(tmp_path: Path, write_config: Any) -> None:
    config = load(str(write_config('[[sources]]\nname = "api"\nurl = "https://api.example.com/"\n')), {})
    workspace = Workspace.beside(str(tmp_path / "out"))

    with lock.hold_source(config, LocalStorage(str(tmp_path / "out")), workspace, "api"):
        assert (tmp_path / "out" / "api" / ".lock").read_text().strip() == str(os.getpid())
