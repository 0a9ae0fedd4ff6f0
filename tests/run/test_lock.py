"""The per-source lock: one holder at a time, the holder's pid visible, released on exit."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from fetcher.errors import EXIT_LOCKED, Locked, OutputError
from fetcher.run import lock
from tests import polling


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
