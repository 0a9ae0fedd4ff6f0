"""Fixtures of the fault suite: fault servers, the harness (with its secret scan), earlier runs, mounts.

The `harness` fixture is autouse: every test here gets one rooted at its tmp_path, and at teardown
every log line the test's fetcher runs wrote and every file under tmp_path is searched for the
token, the password and the API key (issue case 14).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.faults import harness as h
from tests.faults import ondisk as disk
from tests.faults.faultserver import FaultServer, reply


def find_secrets(root: Path, logs: list[str], skip: Path) -> list[str]:
    """Where any form of any secret shows in `logs` or in a file under `root` (outside `skip`)."""
    forms = h.SECRETS.forms()
    leaks = [
        f"stderr of run {number}: {name}"
        for number, text in enumerate(logs)
        for name, form in forms.items()
        if form.decode() in text
    ]
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or skip in path.parents:
            continue
        contents = [path.read_bytes()]
        if path.suffix == ".parquet" and not path.name.startswith("."):
            # Values are compressed in the file: look at them decoded too. A damaged file is another
            # test's finding; its bytes are searched all the same.
            with contextlib.suppress(OSError, ValueError):
                contents.append(repr(pq.read_table(path).to_pylist()).encode())
        leaks += [f"{path}: {name}" for name, form in forms.items() for data in contents if form in data]
    return leaks


class Workspace(h.Harness):
    """The harness, able to check itself for leaked secrets (called at teardown, and before unmounts)."""

    def assert_no_secrets(self) -> None:
        leaks = find_secrets(self.root, self.logs, self.secret_dir)
        assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


@pytest.fixture(autouse=True)
def harness(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path)
    yield workspace
    workspace.assert_no_secrets()


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server


@pytest.fixture
def other_server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server


EARLIER_RECORDS = [{"seq": 1, "name": "one"}, {"seq": 2, "name": "two"}, {"seq": 3, "name": "three"}]


@pytest.fixture(scope="session")
def _earlier_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real, successful incremental run, made once: data files, a run record and a state file."""
    root = tmp_path_factory.mktemp("earlier")
    workspace = Workspace(root)
    with FaultServer() as fault_server:
        fault_server.route("/items", reply(200, {"data": EARLIER_RECORDS}))
        result = workspace.run(workspace.config(fault_server.url("/items")))
    assert result.returncode == 0, result.stderr
    assert disk.state(workspace.out) is not None and len(disk.data_files(workspace.out)) == 2
    yield workspace.out
    workspace.assert_no_secrets()


@pytest.fixture
def earlier(harness: Workspace, _earlier_output: Path) -> dict[str, str]:
    """The output dir already holds an earlier successful run; returns its files' digests."""
    shutil.copytree(_earlier_output, harness.out, dirs_exist_ok=True)
    return disk.snapshot(harness.out)


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def tiny_disk(harness: Workspace) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted as the output dir; skipped (with the reason) where mounting is not allowed."""
    harness.out.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(harness.out))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield harness.out
    finally:
        harness.assert_no_secrets()
        subprocess.run(["umount", str(harness.out)], check=True)
